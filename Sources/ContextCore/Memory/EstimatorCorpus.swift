/// The mixed corpus the token estimator is calibrated and measured on (`contextd-bench
/// memory`, and the exact-BPE tests): English and European prose, source code in several
/// languages, CJK text, emoji-heavy chat and number-heavy text. Each element is one
/// sample; the estimator's error is averaged per sample.
public enum EstimatorCorpus {
    public static let prose: [String] = [
        """
        The committee met on Tuesday to review the proposal for the new library wing. After a long discussion about the budget, the members agreed that the original design was too ambitious for the available funds, and they asked the architects to return with a smaller plan before the end of the month.
        """,
        """
        When she finally reached the top of the hill, the wind had dropped and the valley below was covered in a thin layer of mist. She sat down on a flat rock, took the thermos out of her bag, and poured herself a cup of tea while the sun slowly burned through the clouds.
        """,
        """
        Memory management is one of those topics that every programmer eventually has to understand, even if the language they use hides most of the details. Reference counting, tracing garbage collection and ownership systems each make different trade-offs between throughput, latency and predictability.
        """,
        """
        I'm not sure we'll be able to ship the release on Friday. The integration tests are still flaky on the Linux runners, and we haven't figured out why the cache invalidation occasionally fails. Let's talk tomorrow morning and decide whether to postpone it by a week.
        """,
        """
        Historians have long debated the causes of the collapse. Some point to climate change and repeated droughts; others emphasise internal political conflict, the overextension of trade networks, or the arrival of new diseases. Most likely, several of these pressures reinforced one another.
        """,
        """
        To reset your password, open the settings page, choose "Account", and click the link labelled "Forgot password". You will receive an email with a temporary code; enter it within fifteen minutes, then pick a new password that is at least twelve characters long.
        """,
        """
        The results were surprising: participants who slept less than six hours performed significantly worse on the memory task, but their confidence in their answers was just as high as that of the well-rested group. This mismatch between performance and self-assessment deserves further study.
        """,
        """
        Please summarise the attached document in three bullet points, focusing on the risks it identifies and the mitigations it proposes. Keep each bullet under twenty words and avoid repeating the title.
        """,
        """
        It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness.
        """,
        """
        Our quarterly revenue grew modestly, driven mainly by subscriptions in the enterprise segment. Customer churn decreased slightly, although acquisition costs continued to rise because of increased competition in online advertising. We expect margins to improve next year.
        """,
        """
        Das Wetter in München war gestern überraschend warm, und viele Menschen saßen bis spät in die Nacht in den Biergärten. Die Straßenbahnen fuhren wegen einer Baustelle nur eingeschränkt, was für längere Wartezeiten sorgte.
        """,
        """
        La réunion de l'équipe a été reportée à jeudi prochain, car plusieurs collègues sont en déplacement. Nous profiterons de ce délai pour préparer une présentation plus détaillée des résultats du trimestre.
        """,
    ]

    public static let code: [String] = [
        """
        func mergeSorted(_ a: [Int], _ b: [Int]) -> [Int] {
            var result: [Int] = []
            result.reserveCapacity(a.count + b.count)
            var i = 0, j = 0
            while i < a.count && j < b.count {
                if a[i] <= b[j] { result.append(a[i]); i += 1 } else { result.append(b[j]); j += 1 }
            }
            result.append(contentsOf: a[i...])
            result.append(contentsOf: b[j...])
            return result
        }
        """,
        """
        import json
        from pathlib import Path

        def load_config(path: Path) -> dict:
            \"\"\"Read the JSON configuration, falling back to defaults.\"\"\"
            defaults = {"timeout": 30, "retries": 3, "verbose": False}
            if not path.exists():
                return defaults
            with path.open(encoding="utf-8") as f:
                data = json.load(f)
            return {**defaults, **data}
        """,
        """
        export async function fetchUser(id) {
          const response = await fetch(`/api/users/${encodeURIComponent(id)}`, {
            headers: { Accept: 'application/json' },
          });
          if (!response.ok) {
            throw new Error(`request failed: ${response.status} ${response.statusText}`);
          }
          const user = await response.json();
          return { ...user, fetchedAt: Date.now() };
        }
        """,
        """
        #include <stdio.h>
        #include <stdlib.h>

        typedef struct node { int value; struct node *next; } node_t;

        static node_t *push(node_t *head, int value) {
            node_t *n = malloc(sizeof *n);
            if (n == NULL) { perror("malloc"); exit(EXIT_FAILURE); }
            n->value = value;
            n->next = head;
            return n;
        }
        """,
        """
        use std::collections::HashMap;

        fn word_counts(text: &str) -> HashMap<String, usize> {
            let mut counts = HashMap::new();
            for word in text.split_whitespace() {
                *counts.entry(word.to_lowercase()).or_insert(0) += 1;
            }
            counts
        }
        """,
        """
        package main

        import (
        \t"fmt"
        \t"net/http"
        )

        func handler(w http.ResponseWriter, r *http.Request) {
        \tname := r.URL.Query().Get("name")
        \tif name == "" {
        \t\tname = "world"
        \t}
        \tfmt.Fprintf(w, "hello, %s\\n", name)
        }
        """,
        """
        SELECT u.id, u.email, COUNT(o.id) AS orders, SUM(o.total_cents) / 100.0 AS revenue
        FROM users u
        LEFT JOIN orders o ON o.user_id = u.id AND o.created_at >= DATE '2024-01-01'
        WHERE u.deleted_at IS NULL
        GROUP BY u.id, u.email
        HAVING COUNT(o.id) > 2
        ORDER BY revenue DESC
        LIMIT 50;
        """,
        """
        <div class="card">
          <h2 class="card-title">{{ title }}</h2>
          <p class="card-body">{{ body }}</p>
          <button type="button" onclick="toggle('details-42')">Show details</button>
        </div>
        """,
        """
        {"jsonrpc":"2.0","id":17,"method":"memory/addMessage","params":{"conversationId":"conv_01","role":"assistant","content":"Done.","toolCalls":[{"id":"call_1","name":"read_file","arguments":{"path":"src/main.rs","lines":[1,40]}}]}}
        """,
        """
        public final class LRUCache<Key: Hashable, Value> {
            private var storage: [Key: Value] = [:]
            private var order: [Key] = []
            private let capacity: Int

            public init(capacity: Int) { self.capacity = max(1, capacity) }

            public subscript(key: Key) -> Value? {
                get { storage[key] }
                set {
                    order.removeAll { $0 == key }
                    if let newValue { storage[key] = newValue; order.append(key) } else { storage[key] = nil }
                    if order.count > capacity { storage[order.removeFirst()] = nil }
                }
            }
        }
        """,
        """
        #!/usr/bin/env bash
        set -euo pipefail
        for f in "$@"; do
          if [[ -f "$f" ]]; then
            sha256sum "$f" | awk '{print $1}' > "${f}.sha256"
          fi
        done
        """,
    ]

    public static let cjk: [String] = [
        "人工智能正在改变我们的工作方式。许多公司开始使用大型语言模型来自动回答客户的问题，整理会议记录，甚至编写简单的程序代码。然而，如何保证这些系统的输出准确可靠，仍然是一个重要的研究课题。",
        "今天天气很好，我们决定去公园散步。湖边有很多人在钓鱼，孩子们在草地上放风筝。傍晚的时候，我们在附近的小饭馆吃了饺子和面条。",
        "東京の桜は今年、例年より一週間ほど早く咲きました。週末には多くの人が公園に集まり、お弁当を広げて花見を楽しんでいました。夜になると、ライトアップされた桜がとても美しかったです。",
        "このプログラムは、ユーザーが入力したテキストを解析して、重要なキーワードを自動的に抽出します。設定ファイルを変更すれば、対象となる言語や辞書を簡単に切り替えることができます。",
        "오늘 회의에서는 다음 분기의 개발 일정과 예산에 대해 논의했습니다. 팀원들은 새로운 기능을 추가하기 전에 기존 코드의 품질을 개선해야 한다는 데 동의했습니다.",
        "서울의 겨울은 춥지만 맑은 날이 많습니다. 주말에는 친구들과 함께 따뜻한 찻집에 가서 이야기를 나누는 것을 좋아합니다.",
        "数据库的索引可以大大提高查询速度，但是也会占用额外的存储空间，并且在写入数据时需要维护索引结构。因此，在设计表结构时需要权衡读写性能。",
        "彼は毎朝六時に起きて、駅まで歩いて行きます。電車の中では本を読んだり、音楽を聴いたりして過ごします。",
    ]

    public static let emoji: [String] = [
        "omg that's amazing 🎉🎉🎉 congrats!!! 🥳 when's the party? 🍕🍺",
        "good morning ☀️ coffee first ☕️ then we'll see 😅",
        "lol 😂😂 I can't believe he actually did that 🤦‍♂️ classic",
        "🚀 deployed v2.3.1 to prod ✅ all checks green 🟢 monitoring for 30 min 👀",
        "miss you ❤️❤️ see you soon 🤗 bring the 🐶!",
        "👍 sounds good, I'll send the file in 5 min 📎",
        "weekend plans: 🏔️ hiking ➡️ 🍔 burgers ➡️ 🎬 movie night 🍿",
        "happy birthday!! 🎂🎈🎁 hope you have the best day 💖✨",
        "😭😭 my flight got cancelled ✈️❌ stuck at the airport until tomorrow 😩",
        "team lunch 🍣🍜🥟 at 12:30? reply with 👍 or 👎",
    ]

    public static let numbers: [String] = [
        "2024-03-17 14:22:05.118 INFO  request id=8f3a2c1e latency_ms=42 status=200 bytes=18234 path=/api/v1/items?page=3",
        "Order #483920 — 3 × $19.99, 1 × $149.00, shipping $7.50, tax 8.875%: total $228.64",
        "lat,lon,elevation\n47.6062,-122.3321,56\n37.7749,-122.4194,16\n40.7128,-74.0060,10\n51.5074,-0.1278,11",
        "The population grew from 1,234,567 in 1990 to 2,345,678 in 2020, an increase of 90.0% over 30 years.",
        "CPU 12.5% | MEM 3.2/16.0 GiB | DISK 412.7/931.5 GB | NET ↑ 1.2 MB/s ↓ 24.8 MB/s | uptime 17d 04:12:33",
        "Version 3.14.159 was released on 2023-11-02; build 20231102.7 fixed 128 issues and 42 regressions.",
    ]

    /// Every sample with its category.
    public static var samples: [(category: String, text: String)] {
        prose.map { ("prose", $0) } + code.map { ("code", $0) } + cjk.map { ("cjk", $0) } + emoji.map { ("emoji", $0) }
            + numbers.map { ("numbers", $0) }
    }
}
