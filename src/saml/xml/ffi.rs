//! The part of libxml2's C API that fedbridge calls, declared by hand: no bindgen, so the build
//! needs no libclang.
//!
//! The declarations come from one table, `libxml2_api.rs`, which `build.rs` also reads: there
//! it becomes a C file of `_Static_assert`s (every offset and size below, every constant, every
//! prototype) compiled against the headers of the libxml2 that pkg-config finds, so a libxml2
//! whose layout differs fails the build with the field's name. Here the same numbers are
//! asserted against the Rust structs with `offset_of!`/`size_of`, at compile time.
//!
//! Only [`super`] and [`super::c14n`] use these; every call carries a `SAFETY` comment there.

// The struct fields and functions keep their C names, so the header and the table read alike.
#![allow(non_snake_case, non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};

/// Expands the table of `libxml2_api.rs` into Rust declarations and compile-time layout checks.
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
        // Every enum the structs hold is read as a C int.
        const _: () = assert!(size_of::<c_int>() == 4);

        $(
            $(#[$struct_meta])*
            #[repr(C)]
            #[allow(dead_code, reason = "every field is declared so that the layout is the header's")]
            pub struct $struct_name {
                $( $(#[$field_meta])* pub $field: $field_ty, )*
            }

            const _: () = {
                $(
                    assert!(
                        std::mem::offset_of!($struct_name, $field) == $offset,
                        concat!("libxml2_api.rs: ", $struct_c, ".", $field_c, " is not at offset ",
                            $offset, " in the Rust struct")
                    );
                )*
                assert!(
                    size_of::<$struct_name>() == $struct_size,
                    concat!("libxml2_api.rs: sizeof(", $struct_c, ") is not ", $struct_size,
                        " in Rust")
                );
            };
        )*

        $(
            $(#[$opaque_meta])*
            #[repr(C)]
            pub struct $opaque {
                _data: [u8; 0],
                _marker: PhantomData<(*mut u8, PhantomPinned)>,
            }
        )*

        $( $(#[$const_meta])* pub const $const_name: $const_ty = $value; )*

        $( $(#[$callback_meta])* pub type $callback = Option<$callback_ty>; )*

        // SAFETY: each prototype is the header's; build.rs checks the C type written beside it
        // against the header's declaration of the function.
        unsafe extern "C" {
            $( $(#[$fn_meta])* pub fn $function($($arg: $arg_ty),*) $(-> $ret)?; )*
        }
    };
}

include!("libxml2_api.rs");
