/*
 * The C side of the codec under valgrind (<doc:Hardening>): every generated message descriptor unpacked through
 * the budgeted allocator (shim.c) from the golden fixtures, from random bytes and from mutated fixtures; every
 * accepted message packed again and freed with the same allocator; budgets exhausted on purpose; string
 * exactness checked. Exits 1 on any failed check; valgrind --error-exitcode turns memory errors and leaks into
 * failures. Built and run by tools/sanitize valgrind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akto_shim.h"
#include "akto_testing_registry.h"

static int failures = 0;
#define CHECK(cond, ...)                         \
    do {                                         \
        if (!(cond)) {                           \
            fprintf(stderr, "FAIL: " __VA_ARGS__); \
            fprintf(stderr, "\n");               \
            failures++;                          \
        }                                        \
    } while (0)

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(data, 1, (size_t)n, f);
    fclose(f);
    return data;
}

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Unpacks with a budget; packs what was accepted; frees with the same allocator. Returns 1 when accepted. */
static int exercise(const ProtobufCMessageDescriptor *d, const unsigned char *data, size_t size, size_t budget_limit) {
    akto_budget budget;
    akto_budget_init(&budget, budget_limit);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &budget.allocator, size, data);
    if (m == NULL) return 0;
    CHECK(!budget.exhausted, "%s: unpacked although the budget ran out", d->name);
    size_t packed_size = protobuf_c_message_get_packed_size(m);
    unsigned char *packed = malloc(packed_size ? packed_size : 1);
    size_t written = protobuf_c_message_pack(m, packed);
    CHECK(written == packed_size, "%s: packed %zu of %zu bytes", d->name, written, packed_size);
    /* What was packed unpacks again. */
    akto_budget again;
    akto_budget_init(&again, budget_limit * 2 + 4096);
    ProtobufCMessage *m2 = protobuf_c_message_unpack(d, &again.allocator, written, packed);
    CHECK(m2 != NULL, "%s: its own packed bytes do not unpack", d->name);
    if (m2) protobuf_c_message_free_unpacked(m2, &again.allocator);
    free(packed);
    protobuf_c_message_free_unpacked(m, &budget.allocator);
    return 1;
}

int main(int argc, char **argv) {
    const char *fixtures = argc > 1 ? argv[1] : "Tests/AccessWireTests/Fixtures";
    long iterations = argc > 2 ? atol(argv[2]) : 2000;
    /* The contract's descriptors, then the test-only akto.testing.v1 (its own target, AccessTestingProtoC). */
    const ProtobufCMessageDescriptor *const *contract = akto_message_descriptors();
    const ProtobufCMessageDescriptor *const *testing = akto_testing_message_descriptors();
    size_t contract_count = 0, testing_count = 0;
    while (contract[contract_count]) contract_count++;
    while (testing[testing_count]) testing_count++;
    size_t count = contract_count + testing_count;
    const ProtobufCMessageDescriptor **all = malloc(count * sizeof *all);
    if (!all) return 1;
    memcpy(all, contract, contract_count * sizeof *all);
    memcpy(all + contract_count, testing, testing_count * sizeof *all);
    CHECK(count > 50, "only %zu message descriptors", count);

    /* Golden fixtures decode with their own type. */
    const char *names[][2] = {
        {"everything.bin", "akto.testing.v1.Everything"},
        {"request-frame.bin", "akto.rpc.v1.Frame"},
        {"goaway-frame.bin", "akto.rpc.v1.Frame"},
    };
    unsigned char *fixture_data[3];
    size_t fixture_size[3];
    for (int i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", fixtures, names[i][0]);
        fixture_data[i] = read_file(path, &fixture_size[i]);
        CHECK(fixture_data[i] != NULL, "cannot read %s", path);
        if (!fixture_data[i]) return 1;
        const ProtobufCMessageDescriptor *d = NULL;
        for (size_t k = 0; k < count; k++)
            if (strcmp(all[k]->name, names[i][1]) == 0) d = all[k];
        CHECK(d != NULL, "no descriptor %s", names[i][1]);
        if (d) CHECK(exercise(d, fixture_data[i], fixture_size[i], 1 << 20), "%s does not decode", names[i][0]);
        /* A budget too small for the fixture refuses it without leaking. */
        if (d && fixture_size[i] > 8) {
            akto_budget tiny;
            akto_budget_init(&tiny, 24);
            ProtobufCMessage *m = protobuf_c_message_unpack(d, &tiny.allocator, fixture_size[i], fixture_data[i]);
            CHECK(m == NULL && tiny.exhausted, "%s decoded within a 24-byte budget", names[i][0]);
            if (m) protobuf_c_message_free_unpacked(m, &tiny.allocator);
        }
    }

    /* A string with an embedded NUL is detected as inexact. */
    {
        const ProtobufCMessageDescriptor *meta = NULL;
        for (size_t k = 0; k < count; k++)
            if (strcmp(all[k]->name, "akto.rpc.v1.Metadata") == 0) meta = all[k];
        const unsigned char wire[] = {0x0A, 0x03, 'a', 0x00, 'b', 0x12, 0x01, 'v'};
        akto_budget budget;
        akto_budget_init(&budget, 4096);
        ProtobufCMessage *m = protobuf_c_message_unpack(meta, &budget.allocator, sizeof wire, wire);
        CHECK(m != NULL, "Metadata with a NUL did not unpack");
        if (m) {
            const char *key = *(const char *const *)((const char *)m + meta->fields[0].offset);
            const char *value = *(const char *const *)((const char *)m + meta->fields[1].offset);
            CHECK(!akto_string_is_exact(key), "a NUL-truncated string counted as exact");
            CHECK(akto_string_is_exact(value), "an intact string counted as inexact");
            protobuf_c_message_free_unpacked(m, &budget.allocator);
        }
    }

    /* Random bytes and mutated fixtures through every descriptor. */
    long accepted = 0, total = 0;
    unsigned char buffer[4096];
    for (long i = 0; i < iterations; i++) {
        for (size_t k = 0; k < count; k++) {
            size_t size;
            if (next_random() % 2) {
                size = next_random() % 256;
                for (size_t b = 0; b < size; b++) buffer[b] = (unsigned char)next_random();
            } else {
                int f = (int)(next_random() % 3);
                size = fixture_size[f] < sizeof buffer ? fixture_size[f] : sizeof buffer;
                memcpy(buffer, fixture_data[f], size);
                for (int flips = 0; flips < 4 && size; flips++) buffer[next_random() % size] = (unsigned char)next_random();
            }
            accepted += exercise(all[k], buffer, size, 1 + next_random() % 8192);
            total++;
        }
    }
    for (int i = 0; i < 3; i++) free(fixture_data[i]);
    free(all);
    printf("codec_test: %zu descriptors, %ld unpacks (%ld accepted), %d failures\n", count, total, accepted, failures);
    return failures ? 1 : 0;
}
