/*
 * A load generator that costs next to nothing: speaks AKRP v1 (WireProtocol.md) over the Unix socket with
 * hand-encoded frames, so what the benchmark measures is the server.
 *
 * Usage: akrp-load SOCKET SECONDS CONNECTIONS INFLIGHT SERVER_PID METHOD PAYLOAD_HEX [KEY=VALUE ...]
 *   One thread per connection keeps INFLIGHT requests outstanding; every request is METHOD with the payload
 *   PAYLOAD_HEX ("-" for empty) and the metadata given. The first fifth of SECONDS (at most 0.5 s) warms up
 *   and is not recorded. SERVER_PID's CPU time (utime + stime from /proc) is read around the measured part.
 * Prints: calls=<ok calls> failed=<non-OK> seconds=<s> p50_us=<x> p99_us=<y> server_cpu_us=<cpu>
 * Exits 1 when a connection fails or the server sends something it cannot read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *socket_path, *method;
static double seconds, warm_up, start_time;
static int inflight;
static long server_pid;
static uint8_t *payload;
static size_t payload_len;
static char **metadata;
static int metadata_count;
static atomic_int recording;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double server_cpu_us(void) {
    char file[64], text[1024];
    snprintf(file, sizeof file, "/proc/%ld/stat", server_pid);
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strrchr(text, ')');
    if (!p) return 0;
    unsigned long utime = 0, stime = 0;
    /* After ") ": state, then 10 fields, then utime and stime. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return 0;
    return (double)(utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

/* --- protobuf writing (only what a Request needs) --- */
typedef struct { uint8_t *bytes; size_t len, cap; } buffer;

static void put(buffer *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->bytes = realloc(b->bytes, b->cap);
        if (!b->bytes) { perror("realloc"); exit(1); }
    }
    memcpy(b->bytes + b->len, data, n);
    b->len += n;
}

static void varint(buffer *b, uint64_t v) {
    uint8_t out[10];
    int n = 0;
    do { out[n] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0); v >>= 7; n++; } while (v);
    put(b, out, n);
}

static void field_bytes(buffer *b, int number, const void *data, size_t n) {
    varint(b, (uint64_t)number << 3 | 2);
    varint(b, n);
    put(b, data, n);
}

/* The Request with call id 1 once, so each call only patches its id (fixed 5-byte varint form). */
static buffer request_template(size_t *call_id_offset) {
    buffer request = {0};
    uint8_t id_field[6] = {0x08, 0x81, 0x80, 0x80, 0x80, 0x00}; /* field 1, varint 1 padded to 5 bytes */
    put(&request, id_field, sizeof id_field);
    field_bytes(&request, 2, method, strlen(method));
    for (int i = 0; i < metadata_count; i++) {
        char *eq = strchr(metadata[i], '=');
        buffer entry = {0};
        field_bytes(&entry, 1, metadata[i], eq - metadata[i]);
        field_bytes(&entry, 2, eq + 1, strlen(eq + 1));
        field_bytes(&request, 4, entry.bytes, entry.len);
        free(entry.bytes);
    }
    if (payload_len) field_bytes(&request, 5, payload, payload_len);
    buffer frame = {0};
    field_bytes(&frame, 1, request.bytes, request.len);
    buffer wire = {0};
    uint8_t length[4] = {frame.len >> 24, frame.len >> 16, frame.len >> 8, frame.len};
    put(&wire, length, 4);
    put(&wire, frame.bytes, frame.len);
    /* The call id's varint: after the length (4), the frame's field-1 tag (1), the request's length varint and
     * the request's own field-1 tag (1). */
    buffer length_varint = {0};
    varint(&length_varint, request.len);
    *call_id_offset = 4 + 1 + length_varint.len + 1;
    free(length_varint.bytes);
    free(request.bytes);
    free(frame.bytes);
    return wire;
}

static void patch_id(uint8_t *at, uint32_t id) {
    for (int i = 0; i < 4; i++) { at[i] = (id & 0x7f) | 0x80; id >>= 7; }
    at[4] = id & 0x7f;
}

/* --- protobuf reading (Response call id and status code) --- */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return 0;
    }
    return -1;
}

static int skip(const uint8_t **p, const uint8_t *end, int wire) {
    uint64_t v;
    switch (wire) {
    case 0: return read_varint(p, end, &v);
    case 1: if (end - *p < 8) return -1; *p += 8; return 0;
    case 2: if (read_varint(p, end, &v) || (uint64_t)(end - *p) < v) return -1; *p += v; return 0;
    case 5: if (end - *p < 4) return -1; *p += 4; return 0;
    default: return -1;
    }
}

/* The call id and status code of a Response frame; -1 for anything else. */
static int parse_response(const uint8_t *p, const uint8_t *end, uint32_t *call_id, uint32_t *code) {
    uint64_t key, n;
    if (read_varint(&p, end, &key)) return -1;
    if (key != (2 << 3 | 2)) return -1; /* Frame.response */
    if (read_varint(&p, end, &n) || (uint64_t)(end - p) < n) return -1;
    end = p + n;
    *call_id = 0;
    *code = 0;
    while (p < end) {
        if (read_varint(&p, end, &key)) return -1;
        if (key == (1 << 3 | 0)) {
            uint64_t v;
            if (read_varint(&p, end, &v)) return -1;
            *call_id = (uint32_t)v;
        } else if (key == (2 << 3 | 2)) {
            if (read_varint(&p, end, &n) || (uint64_t)(end - p) < n) return -1;
            const uint8_t *s = p, *se = p + n;
            while (s < se) {
                uint64_t k, v;
                if (read_varint(&s, se, &k)) return -1;
                if (k == (1 << 3 | 0)) {
                    if (read_varint(&s, se, &v)) return -1;
                    *code = (uint32_t)v;
                } else if (skip(&s, se, k & 7)) return -1;
            }
            p = se;
        } else if (skip(&p, end, key & 7)) return -1;
    }
    return 0;
}

static int full_write(int fd, const uint8_t *data, size_t n) {
    while (n) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        data += w;
        n -= w;
    }
    return 0;
}

struct result { long calls, failed; double *samples; long nsamples, cap; int error; };

static void *client(void *arg) {
    struct result *r = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, socket_path, sizeof a.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); r->error = 1; return NULL; }
    static const uint8_t preface[8] = {'A', 'K', 'R', 'P', 0, 1, 0, 0};
    size_t offset;
    buffer wire = request_template(&offset);
    double *sent = calloc(inflight + 1, sizeof(double));
    if (full_write(fd, preface, 8)) { r->error = 1; return NULL; }
    /* Call ids 1..INFLIGHT, each reused as soon as its answer arrives. */
    for (int id = 1; id <= inflight; id++) {
        patch_id(wire.bytes + offset, id);
        sent[id] = now();
        if (full_write(fd, wire.bytes, wire.len)) { r->error = 1; return NULL; }
    }
    size_t cap = 1 << 16, have = 0;
    uint8_t *in = malloc(cap);
    double end = start_time + warm_up + seconds;
    int outstanding = inflight;
    int stopping = 0;
    while (outstanding > 0) {
        ssize_t got = read(fd, in + have, cap - have);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) { fprintf(stderr, "akrp-load: the server closed the connection\n"); r->error = 1; break; }
        have += got;
        size_t used = 0;
        while (have - used >= 4) {
            uint32_t len = (uint32_t)in[used] << 24 | in[used + 1] << 16 | in[used + 2] << 8 | in[used + 3];
            if (len > (1u << 24)) { r->error = 1; outstanding = 0; break; }
            if (have - used - 4 < len) {
                if (len + 4 > cap) { cap = (len + 4) * 2; in = realloc(in, cap); }
                break;
            }
            uint32_t id, code;
            if (parse_response(in + used + 4, in + used + 4 + len, &id, &code) || id == 0 || id > (uint32_t)inflight) {
                fprintf(stderr, "akrp-load: unexpected frame from the server\n");
                r->error = 1;
                outstanding = 0;
                break;
            }
            used += 4 + len;
            double t = now();
            if (atomic_load_explicit(&recording, memory_order_relaxed) && t < end) {
                if (code == 0) {
                    r->calls++;
                    if (r->nsamples < r->cap) r->samples[r->nsamples++] = (t - sent[id]) * 1e6;
                } else {
                    r->failed++;
                }
            }
            if (t >= end) stopping = 1;
            if (stopping) { outstanding--; continue; }
            patch_id(wire.bytes + offset, id);
            sent[id] = now();
            if (full_write(fd, wire.bytes, wire.len)) { r->error = 1; outstanding = 0; break; }
        }
        memmove(in, in + used, have - used);
        have -= used;
    }
    close(fd);
    free(in);
    free(sent);
    free(wire.bytes);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: akrp-load SOCKET SECONDS CONNECTIONS INFLIGHT SERVER_PID METHOD PAYLOAD_HEX [KEY=VALUE ...]\n");
        return 2;
    }
    socket_path = argv[1];
    seconds = atof(argv[2]);
    int connections = atoi(argv[3]);
    inflight = atoi(argv[4]);
    server_pid = atol(argv[5]);
    method = argv[6];
    const char *payload_hex = argv[7];
    if (seconds <= 0 || connections < 1 || connections > 4096 || inflight < 1 || inflight > 128 ||
        strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "akrp-load: SECONDS > 0, CONNECTIONS 1-4096, INFLIGHT 1-128, a socket path that fits\n");
        return 2;
    }
    if (strcmp(payload_hex, "-") != 0) {
        size_t n = strlen(payload_hex);
        if (n % 2) { fprintf(stderr, "akrp-load: PAYLOAD_HEX has an odd length\n"); return 2; }
        payload_len = n / 2;
        payload = malloc(payload_len + 1);
        for (size_t i = 0; i < payload_len; i++) {
            int hi = hex(payload_hex[2 * i]), lo = hex(payload_hex[2 * i + 1]);
            if (hi < 0 || lo < 0) { fprintf(stderr, "akrp-load: PAYLOAD_HEX is not hex\n"); return 2; }
            payload[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    metadata = argv + 8;
    metadata_count = argc - 8;
    for (int i = 0; i < metadata_count; i++) {
        if (!strchr(metadata[i], '=')) { fprintf(stderr, "akrp-load: metadata is KEY=VALUE: %s\n", metadata[i]); return 2; }
    }
    warm_up = seconds / 5 < 0.5 ? seconds / 5 : 0.5;
    pthread_t *threads = calloc(connections, sizeof(pthread_t));
    struct result *results = calloc(connections, sizeof(struct result));
    start_time = now();
    for (int i = 0; i < connections; i++) {
        results[i].cap = 4000000 / connections + 1000;
        results[i].samples = malloc(sizeof(double) * results[i].cap);
        pthread_create(&threads[i], NULL, client, &results[i]);
    }
    struct timespec pause = {.tv_sec = (time_t)warm_up, .tv_nsec = (long)((warm_up - (time_t)warm_up) * 1e9)};
    nanosleep(&pause, NULL);
    double cpu_before = server_cpu_us();
    double measured_from = now();
    atomic_store(&recording, 1);
    long calls = 0, failed = 0, n = 0;
    int error = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(threads[i], NULL);
        calls += results[i].calls;
        failed += results[i].failed;
        n += results[i].nsamples;
        error |= results[i].error;
    }
    double elapsed = now() - measured_from;
    if (elapsed > seconds) elapsed = seconds; /* answers after the end are not counted */
    double cpu = server_cpu_us() - cpu_before;
    double *all = malloc(sizeof(double) * (n ? n : 1));
    long k = 0;
    for (int i = 0; i < connections; i++)
        for (long j = 0; j < results[i].nsamples; j++) all[k++] = results[i].samples[j];
    qsort(all, n, sizeof(double), cmp);
    printf("calls=%ld failed=%ld seconds=%.3f p50_us=%.1f p99_us=%.1f server_cpu_us=%.0f\n", calls, failed, elapsed,
           n ? all[n / 2] : 0, n ? all[(long)(n * 0.99)] : 0, cpu);
    return error;
}
