/* The test-only contract akto.testing.v1 (proto/akto/testing/v1): the codec tests' every-field-kind message,
 * compiled into this target of its own so that no server target carries it. Its generated C is in generated/
 * and include/akto/testing (tools/generate-proto; never edit by hand). */
#ifndef AKTO_TESTING_REGISTRY_H
#define AKTO_TESTING_REGISTRY_H

#include <protobuf-c/protobuf-c.h>

/* Every message descriptor of akto.testing.v1, NULL-terminated. */
const ProtobufCMessageDescriptor *const *akto_testing_message_descriptors(void);

#endif
