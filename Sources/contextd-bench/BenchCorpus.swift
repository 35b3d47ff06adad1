import Foundation

// The synthetic chat corpus shared by the `memory` and `scale` scenarios: a Zipf
// vocabulary of pronounceable words and messages of 8–47 of them, from a seeded
// generator (the same seed gives the same corpus).

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A Zipf-distributed synthetic vocabulary (s = 1.07) of pronounceable words, 1 to 4
/// syllables, about one syllable in 40 accented (so folding is exercised).
struct Vocabulary {
    var words: [String] = []
    var cumulative: [Double] = []
    init(size: Int, rng: inout SplitMix) {
        let onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "st", "tr", "pl", "ch", "sh", "br"]
        // Mostly ASCII like English chat; about one syllable in 40 carries an accent.
        let vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ee"]
        let accented = ["é", "ö", "ü", "à"]
        var seen = Set<String>()
        while words.count < size {
            let syl = 1 + rng.below(4)
            var w = ""
            for _ in 0..<syl {
                let v = rng.below(40) == 0 ? accented[rng.below(accented.count)] : vowels[rng.below(vowels.count)]
                w += onsets[rng.below(onsets.count)] + v
            }
            if rng.below(3) == 0 { w += ["n", "s", "r", "t", "ng"][rng.below(5)] }
            if seen.insert(w).inserted { words.append(w) }
        }
        var acc = 0.0
        for r in 1...size {
            acc += 1 / pow(Double(r), 1.07)
            cumulative.append(acc)
        }
    }
    func sample(_ rng: inout SplitMix) -> String {
        let x = rng.unit() * cumulative.last!
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return words[lo]
    }
}

func generateMessages(_ count: Int, vocabulary: Vocabulary, rng: inout SplitMix) -> [String] {
    var out: [String] = []
    out.reserveCapacity(count)
    for _ in 0..<count { out.append(generateMessage(vocabulary: vocabulary, rng: &rng)) }
    return out
}

/// One message: 8–47 words, the first capitalised, about one in nine followed by a comma.
func generateMessage(vocabulary: Vocabulary, rng: inout SplitMix) -> String {
    let len = 8 + rng.below(40)
    var s = ""
    for k in 0..<len {
        var w = vocabulary.sample(&rng)
        if k == 0 { w = w.prefix(1).uppercased() + w.dropFirst() }
        s += w
        s += k == len - 1 ? "." : (rng.below(9) == 0 ? ", " : " ")
    }
    return s
}
