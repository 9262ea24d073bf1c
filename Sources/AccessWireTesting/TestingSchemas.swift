import AccessTestingProtoC
import AccessWire

/// The test-only contract `akto.testing.v1` (the codec tests' every-field-kind `Everything`), kept out of the
/// server's targets: its descriptors join `SchemaRegistry.shared` when a test or the fuzzer asks for them.
public enum TestingSchemas {
    /// Adds akto.testing.v1 to the schema registry; call before coding any of its types. Idempotent.
    public static func install() {
        _ = installed
    }

    private static let installed: Void = {
        SchemaRegistry.shared.include(akto_testing_message_descriptors())
    }()
}
