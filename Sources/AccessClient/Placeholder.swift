enum PlaceholderAccessClient {}
