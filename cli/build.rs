//! With the `mimalloc` feature, exports the malloc family from the executable, so that the
//! shared libraries (libxml2, OpenSSL, libpq) bind to mimalloc's `malloc` and `free` too.
fn main() {
    if std::env::var_os("CARGO_FEATURE_MIMALLOC").is_some() {
        for symbol in [
            "malloc",
            "free",
            "calloc",
            "realloc",
            "posix_memalign",
            "aligned_alloc",
            "memalign",
            "valloc",
            "pvalloc",
            "malloc_usable_size",
            "reallocarray",
            "cfree",
        ] {
            println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol={symbol}");
        }
    }
}
