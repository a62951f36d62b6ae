//! The build script:
//! - rebuilds when a migration changes: `embed_migrations!` reads `migrations/` at compile time
//!   but does not tell cargo to watch the folder;
//! - finds libxml2 with pkg-config, links it, and checks that its version is one whose headers
//!   `src/saml/xml/libxml2_api.rs` was checked against and that its headers have exactly the
//!   layouts, constants and prototypes that table declares (a C file of `_Static_assert`s
//!   compiled with the system's C compiler: no libclang, no bindgen).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The libxml2 series whose headers `src/saml/xml/libxml2_api.rs` was checked against, as
/// (major, minor): from `SUPPORTED_FROM` up to but not including `SUPPORTED_BELOW`.
const SUPPORTED_FROM: (u32, u32) = (2, 9);
/// See [`SUPPORTED_FROM`].
const SUPPORTED_BELOW: (u32, u32) = (2, 10);
/// The table both the Rust declarations and the C probe come from.
const API_TABLE: &str = "src/saml/xml/libxml2_api.rs";

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed={API_TABLE}");
    if let Err(message) = libxml2() {
        // Cargo shows a failed build script's stderr: the message is what the user reads.
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

/// Finds, links and checks libxml2; the error is a message for the person building.
fn libxml2() -> Result<(), String> {
    let library = pkg_config::Config::new()
        .cargo_metadata(false)
        .env_metadata(true)
        .probe("libxml-2.0")
        .map_err(|e| {
            format!(
                "fedbridge needs libxml2 and its development files, found through pkg-config \
                 (libxml-2.0.pc), and pkg-config did not find them.\n\
                 On Debian/Ubuntu: apt-get install libxml2-dev pkg-config\n\
                 (or point PKG_CONFIG_PATH at the directory holding libxml-2.0.pc).\n\
                 pkg-config said: {e}"
            )
        })?;
    let version = parse_version(&library.version).ok_or_else(|| {
        format!(
            "pkg-config reports libxml2 version {:?}, which is not MAJOR.MINOR.PATCH",
            library.version
        )
    })?;
    if version < SUPPORTED_FROM || version >= SUPPORTED_BELOW {
        return Err(format!(
            "pkg-config found libxml2 {found} (headers in {includes}), but fedbridge declares \
             libxml2's C API itself ({API_TABLE}) and that table was checked against the \
             libxml2 {from_major}.{from_minor} series only (Debian 12 ships 2.9.14).\n\
             Build against libxml2 {from_major}.{from_minor} (Debian 12: apt-get install \
             libxml2-dev; or point PKG_CONFIG_PATH at a {from_major}.{from_minor} build). \
             Supporting {found} means checking every struct, constant and prototype of \
             {API_TABLE} against its headers, running the whole test suite on it, and then \
             widening SUPPORTED_BELOW in build.rs.",
            found = library.version,
            includes = display_paths(&library.include_paths),
            from_major = SUPPORTED_FROM.0,
            from_minor = SUPPORTED_FROM.1,
        ));
    }
    check_headers(&library.include_paths)?;
    for dir in &library.link_paths {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for lib in &library.libs {
        println!("cargo:rustc-link-lib={lib}");
    }
    Ok(())
}

/// "2.9.14" -> (2, 9); anything else -> None.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn display_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if shown.is_empty() {
        "the compiler's default directories".into()
    } else {
        shown.join(", ")
    }
}

/// Compiles the C probe generated from the table against the headers in `include_paths`;
/// every failed assertion is named in the error.
fn check_headers(include_paths: &[PathBuf]) -> Result<(), String> {
    let out_dir = std::env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?;
    let probe = Path::new(&out_dir).join("libxml2_api_check.c");
    std::fs::write(&probe, probe_source())
        .map_err(|e| format!("cannot write {}: {e}", probe.display()))?;
    for header in HEADERS {
        for dir in include_paths {
            let path = dir.join(header);
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .try_get_compiler()
        .map_err(|e| {
            format!(
                "no C compiler to check libxml2's headers with: {e}\n\
                 On Debian/Ubuntu: apt-get install gcc libc6-dev (or build-essential)"
            )
        })?;
    let mut command: Command = compiler.to_command();
    command.arg("-fsyntax-only").arg("-std=gnu11");
    for dir in include_paths {
        command.arg("-I").arg(dir);
    }
    command.arg(&probe);
    let output = command.output().map_err(|e| {
        format!(
            "cannot run the C compiler {} to check libxml2's headers: {e}\n\
             On Debian/Ubuntu: apt-get install gcc libc6-dev (or build-essential)",
            compiler.path().display()
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .filter_map(|l| l.split("error: ").nth(1))
        .collect();
    Err(format!(
        "libxml2's headers in {includes} do not match {API_TABLE}, the part of libxml2's C API \
         that fedbridge declares (checked by compiling {probe}):\n  {failed}\n\
         Build against a libxml2 {from_major}.{from_minor} whose headers match (Debian 12: \
         apt-get install libxml2-dev), or bring {API_TABLE} in line with these headers.\n\
         Compiler output:\n{stderr}",
        includes = display_paths(include_paths),
        probe = probe.display(),
        failed = failed.join("\n  "),
        from_major = SUPPORTED_FROM.0,
        from_minor = SUPPORTED_FROM.1,
    ))
}

/// The C probe: the table's headers, a version guard, then one `_Static_assert` per offset,
/// size, enum, constant, callback type and prototype of the table.
fn probe_source() -> String {
    let version_guard = format!(
        "#if !defined(LIBXML_VERSION) || LIBXML_VERSION < {from} || LIBXML_VERSION >= {below}\n\
         #error \"the libxml2 headers found are not of the {major}.{minor} series that {API_TABLE} was checked against\"\n\
         #endif\n\
         #ifndef LIBXML_C14N_ENABLED\n\
         #error \"this libxml2 was built without C14N (LIBXML_C14N_ENABLED), which XML-DSig needs\"\n\
         #endif\n\
         #ifndef LIBXML_OUTPUT_ENABLED\n\
         #error \"this libxml2 was built without output buffers (LIBXML_OUTPUT_ENABLED), which C14N needs\"\n\
         #endif\n",
        from = SUPPORTED_FROM.0 * 10_000 + SUPPORTED_FROM.1 * 100,
        below = SUPPORTED_BELOW.0 * 10_000 + SUPPORTED_BELOW.1 * 100,
        major = SUPPORTED_FROM.0,
        minor = SUPPORTED_FROM.1,
    );
    let includes: String = HEADERS
        .iter()
        .map(|h| format!("#include <{h}>\n"))
        .collect();
    format!(
        "/* Generated by build.rs from {API_TABLE}. */\n#include <stddef.h>\n{includes}{version_guard}{CHECKS}"
    )
}

/// Expands the table into [`HEADERS`] and [`CHECKS`], the C assertions.
macro_rules! libxml2_api {
    (
        headers = [$($header:literal),* $(,)?];
        enums { $($enum_name:literal),* $(,)? }
        structs { $(
            $(#[$struct_meta:meta])*
            $struct_name:ident = $struct_c:literal, size $struct_size:literal {
                $(
                    $(#[$field_meta:meta])*
                    $field:ident : $field_ty:ty = $field_c:literal @ $offset:literal,
                )*
            }
        )* }
        opaque { $( $(#[$opaque_meta:meta])* $opaque:ident, )* }
        constants { $( $(#[$const_meta:meta])* $const_name:ident : $const_ty:ty = $value:literal, )* }
        callbacks { $(
            $(#[$callback_meta:meta])*
            $callback:ident = $callback_c:literal as $callback_sig:literal : $callback_ty:ty,
        )* }
        functions { $(
            $(#[$fn_meta:meta])*
            fn $function:ident ( $($arg:ident : $arg_ty:ty),* $(,)? ) $(-> $ret:ty)?
                as $fn_sig:literal;
        )* }
    ) => {
        /// The headers the probe includes (and whose changes rerun the build script).
        const HEADERS: &[&str] = &[$($header),*];

        /// One `_Static_assert` per fact of the table, each message naming what differs.
        const CHECKS: &str = concat!(
            $(
                "_Static_assert(sizeof(", $enum_name, ") == sizeof(int), \"",
                $enum_name, " is not the size of an int\");\n",
            )*
            $(
                $(
                    "_Static_assert(offsetof(", $struct_c, ", ", $field_c, ") == ", $offset,
                    ", \"offsetof(", $struct_c, ", ", $field_c, ") is not ", $offset, "\");\n",
                )*
                "_Static_assert(sizeof(", $struct_c, ") == ", $struct_size, ", \"sizeof(",
                $struct_c, ") is not ", $struct_size, "\");\n",
            )*
            $(
                "_Static_assert(", stringify!($const_name), " == ", $value, ", \"",
                stringify!($const_name), " is not ", $value, "\");\n",
            )*
            $(
                "_Static_assert(__builtin_types_compatible_p(", $callback_c, ", ",
                $callback_sig, "), \"", $callback_c, " is not ", $callback_sig, "\");\n",
            )*
            $(
                "_Static_assert(__builtin_types_compatible_p(__typeof__(&",
                stringify!($function), "), ", $fn_sig, "), \"", stringify!($function),
                " is not ", $fn_sig, "\");\n",
            )*
        );
    };
}

include!("src/saml/xml/libxml2_api.rs");
