//! Layers: decompressing a layer blob and unpacking its tar stream into a directory, confined
//! to that directory, with the image spec's whiteouts turned into overlayfs's.
