/*
 * c-echo — the pipe's limit for contextd's peer comparison (issue 11).
 *
 * Reads stdin with large read(2)s, splits it into Content-Length frames and writes
 * every complete frame back unchanged (headers and body), coalescing all frames that
 * arrived in one read into one write(2). No JSON parsing: the reply to a request is
 * the request itself, which is all `contextd-bench` needs (it only counts frames).
 * Command-line arguments are ignored (the bench passes `--store memory ...`).
 *
 *   gcc -O2 -o c-echo Tests/perf/c-echo.c
 *   printf 'Content-Length: 2\r\n\r\n{}' | ./c-echo
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Length of the complete frame at p (headers + body), 0 if incomplete, -1 if bad. */
static long frame_length(const char *p, size_t avail) {
    size_t i = 0;
    long length = -1;
    for (;;) {
        const char *eol = memchr(p + i, '\n', avail - i);
        if (!eol) return 0;
        size_t line_end = (size_t)(eol - p);
        size_t len = line_end - i;
        if (len > 0 && p[line_end - 1] == '\r') len--;
        if (len == 0) { /* blank line: end of headers */
            if (length < 0) return -1;
            size_t total = line_end + 1 + (size_t)length;
            return total <= avail ? (long)total : 0;
        }
        if (len > 15 && strncasecmp(p + i, "content-length:", 15) == 0) {
            length = 0;
            for (size_t k = i + 15; k < i + len; k++) {
                if (p[k] >= '0' && p[k] <= '9') length = length * 10 + (p[k] - '0');
            }
        }
        i = line_end + 1;
    }
}

int main(void) {
    size_t cap = 1 << 20, start = 0, end = 0;
    char *buf = malloc(cap);
    if (!buf) return 1;
    for (;;) {
        if (end == cap) {
            if (start > 0) { /* slide the partial frame to the front */
                memmove(buf, buf + start, end - start);
                end -= start;
                start = 0;
            } else { /* one frame bigger than the buffer: grow */
                cap *= 2;
                char *nb = realloc(buf, cap);
                if (!nb) return 1;
                buf = nb;
            }
        }
        ssize_t n = read(0, buf + end, cap - end);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        end += (size_t)n;
        size_t done = start;
        for (;;) {
            long f = frame_length(buf + done, end - done);
            if (f < 0) return 2;
            if (f == 0) break;
            done += (size_t)f;
        }
        if (done > start && write_all(buf + start, done - start) < 0) return 1;
        start = done;
        if (start == end) start = end = 0;
    }
}
