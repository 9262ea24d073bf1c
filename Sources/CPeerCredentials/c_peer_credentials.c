#define _GNU_SOURCE
#include "c_peer_credentials.h"

#include <sys/socket.h>

int akto_sol_socket(void) { return SOL_SOCKET; }

int akto_so_peercred(void) {
#ifdef SO_PEERCRED
    return SO_PEERCRED;
#else
    return -1;
#endif
}
