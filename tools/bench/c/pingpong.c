/*
 * The physical limit: a minimal Unix-socket ping-pong with the RPC case's message size.
 * Usage: pingpong SECONDS PAYLOAD_BYTES CONNECTIONS INFLIGHT
 * A forked echo server; CONNECTIONS client threads each keep INFLIGHT messages outstanding.
 * Prints: calls=<n> seconds=<s> p50_us=<x> p99_us=<y> server_cpu_us=<total server cpu>
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int payload, inflight;
static double seconds;
static char path[108];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int full(int fd, char *buf, int n, int writing) {
    int done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (r <= 0) return -1;
        done += r;
    }
    return 0;
}

static void *echo(void *arg) {
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(payload);
    while (full(fd, buf, payload, 0) == 0 && full(fd, buf, payload, 1) == 0) {}
    close(fd);
    free(buf);
    return NULL;
}

struct result { long calls; double *samples; long nsamples, cap; };

static void *client(void *arg) {
    struct result *r = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    while (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) usleep(1000);
    char *buf = calloc(payload, inflight);
    double *sent = calloc(inflight, sizeof(double));
    double end = now() + seconds;
    for (int i = 0; i < inflight; i++) { sent[i] = now(); full(fd, buf, payload, 1); }
    int next = 0;
    while (now() < end) {
        if (full(fd, buf, payload, 0) != 0) break;
        double t = now();
        if (r->nsamples < r->cap) r->samples[r->nsamples++] = (t - sent[next]) * 1e6;
        r->calls++;
        sent[next] = t;
        full(fd, buf, payload, 1);
        next = (next + 1) % inflight;
    }
    close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: pingpong SECONDS PAYLOAD CONNECTIONS INFLIGHT\n"); return 2; }
    seconds = atof(argv[1]); payload = atoi(argv[2]);
    int connections = atoi(argv[3]); inflight = atoi(argv[4]);
    snprintf(path, sizeof path, "/tmp/akto-pingpong-%d.sock", getpid());
    unlink(path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 1024) != 0) { perror("bind"); return 1; }
    pid_t server = fork();
    if (server == 0) {
        for (;;) {
            int fd = accept(listener, NULL, NULL);
            if (fd < 0) continue;
            pthread_t t;
            pthread_create(&t, NULL, echo, (void *)(intptr_t)fd);
            pthread_detach(t);
        }
    }
    close(listener);
    pthread_t *threads = calloc(connections, sizeof(pthread_t));
    struct result *results = calloc(connections, sizeof(struct result));
    double start = now();
    for (int i = 0; i < connections; i++) {
        results[i].cap = 2000000;
        results[i].samples = malloc(sizeof(double) * results[i].cap);
        pthread_create(&threads[i], NULL, client, &results[i]);
    }
    long calls = 0, n = 0;
    for (int i = 0; i < connections; i++) { pthread_join(threads[i], NULL); calls += results[i].calls; n += results[i].nsamples; }
    double elapsed = now() - start;
    kill(server, SIGKILL);
    int status;
    struct rusage usage;
    wait4(server, &status, 0, &usage);
    unlink(path);
    double *all = malloc(sizeof(double) * (n ? n : 1));
    long k = 0;
    for (int i = 0; i < connections; i++) for (long j = 0; j < results[i].nsamples; j++) all[k++] = results[i].samples[j];
    qsort(all, n, sizeof(double), cmp);
    double cpu = usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec + usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec;
    printf("calls=%ld seconds=%.3f p50_us=%.1f p99_us=%.1f server_cpu_us=%.0f\n", calls, elapsed,
           n ? all[n / 2] : 0, n ? all[(long)(n * 0.99)] : 0, cpu);
    return 0;
}
