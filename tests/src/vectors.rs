//! Golden vectors (filled in below).
