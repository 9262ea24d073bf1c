/* SO_PEERCRED for the socket transport (AccessServer): the option's constants are macros Swift cannot import
 * portably, so they are read here, as swift-nio's CNIOLinux does for its socket constants. */
#ifndef C_PEER_CREDENTIALS_H
#define C_PEER_CREDENTIALS_H

#include <stdint.h>

/* The peer credentials of a connected Unix socket (SO_PEERCRED). Layout-identical to Linux's struct ucred. */
typedef struct akto_ucred {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} akto_ucred;

/* The getsockopt level and option name that read an akto_ucred; -1 where the platform has none. */
int akto_sol_socket(void);
int akto_so_peercred(void);

#endif
