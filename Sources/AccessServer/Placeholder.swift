enum PlaceholderAccessServer {}
