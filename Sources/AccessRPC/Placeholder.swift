enum PlaceholderAccessRPC {}
