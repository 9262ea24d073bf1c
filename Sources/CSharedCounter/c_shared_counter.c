#include "c_shared_counter.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* One page: the counters sit at its start; the rest is left zero for future fields. */
#define AKTO_COUNTER_FILE_SIZE 4096

volatile uint64_t *akto_shared_counter_open(const char *path) {
    void *mapped;
    if (path == NULL) {
        mapped = mmap(NULL, AKTO_COUNTER_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return mapped == MAP_FAILED ? NULL : (volatile uint64_t *)mapped;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    /* Growing a short (new) file to one page is safe while others map it: the bytes it adds read as zero. */
    if (st.st_size < AKTO_COUNTER_FILE_SIZE && ftruncate(fd, AKTO_COUNTER_FILE_SIZE) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    mapped = mmap(NULL, AKTO_COUNTER_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    if (mapped == MAP_FAILED) {
        errno = saved;
        return NULL;
    }
    return (volatile uint64_t *)mapped;
}

uint64_t akto_shared_counter_load(volatile uint64_t *counters, int index) {
    if (index < 0 || index >= AKTO_SHARED_COUNTERS) return 0;
    return __atomic_load_n(counters + index, __ATOMIC_SEQ_CST);
}

uint64_t akto_shared_counter_increment(volatile uint64_t *counters, int index) {
    if (index < 0 || index >= AKTO_SHARED_COUNTERS) return 0;
    return __atomic_add_fetch(counters + index, 1, __ATOMIC_SEQ_CST);
}

void akto_shared_counter_close(volatile uint64_t *counter) {
    if (counter != NULL) munmap((void *)counter, AKTO_COUNTER_FILE_SIZE);
}
