//! Canonical XML of one element's subtree, minus one excluded descendant (the enveloped
//! signature): exclusive C14N without comments (what every SAML IdP signs with) in Rust
//! (`exclusive`, several times faster), everything else and every input the Rust path does not
//! fully understand through libxml2's `xmlC14NExecute` with a visibility callback.
//!
//! The document is never modified: the enveloped-signature transform is a visibility rule, so
//! the bytes that were verified are exactly the bytes later read.
//!
//! C14N decides what a signature covers, so the Rust path must never differ from libxml2's:
//! [`exclusive_in_rust`] and [`with_libxml2`] are public so that the tests and the fuzz target
//! compare the two byte for byte (SECURITY.md, "C14N in Rust").

mod exclusive;

pub(super) use exclusive::plain_namespaces;

use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr;

use super::ffi::{
    self, XML_C14N_1_0, XML_C14N_1_1, XML_C14N_EXCLUSIVE_1_0, XML_NAMESPACE_DECL, XmlError, XmlNode,
};
use super::{Element, XmlDocument};

/// Which canonicalization algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exclusive XML Canonicalization 1.0 (`xml-exc-c14n#`).
    Exclusive,
    /// Canonical XML 1.0 (`REC-xml-c14n-20010315`), inclusive: every namespace in scope is
    /// rendered on the apex, and ancestors' `xml:` attributes are inherited.
    Inclusive10,
    /// Canonical XML 1.1 (`xml-c14n11`), inclusive: as 1.0, but of the ancestors' `xml:`
    /// attributes only `xml:lang` and `xml:space` are inherited (and `xml:base` is fixed up).
    Inclusive11,
}

impl Mode {
    /// libxml2's constant for the mode.
    fn code(self) -> c_int {
        match self {
            Mode::Exclusive => XML_C14N_EXCLUSIVE_1_0,
            Mode::Inclusive10 => XML_C14N_1_0,
            Mode::Inclusive11 => XML_C14N_1_1,
        }
    }
}

/// Canonicalization failed; libxml2 gives no reason (e.g. a relative namespace URI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("canonicalization failed (libxml2 refused the node set)")]
pub struct C14nError;

/// What is visible to the canonicalizer.
struct Visibility {
    apex: *mut XmlNode,
    excluded: *mut XmlNode,
}

/// Canonicalizes `apex` and its descendants, leaving out `excluded` and its descendants.
///
/// `prefixes` is the `InclusiveNamespaces PrefixList` of exclusive C14N ("#default" for the
/// default namespace); the inclusive modes ignore it. Any libxml2 failure, or an empty result,
/// is an error: a signature must
/// never be checked over "nothing" (the void-canonicalization attack).
pub fn canonicalize(
    doc: &XmlDocument,
    apex: Element<'_>,
    excluded: Option<Element<'_>>,
    mode: Mode,
    prefixes: &[&str],
    with_comments: bool,
) -> Result<Vec<u8>, C14nError> {
    if mode == Mode::Exclusive
        && !with_comments
        && let Some(canonical) = exclusive_in_rust(doc, apex, excluded, prefixes)
    {
        return Ok(canonical);
    }
    with_libxml2(doc, apex, excluded, mode, prefixes, with_comments)
}

/// Exclusive C14N without comments in Rust, or `None` for an input it leaves to libxml2 (see
/// `exclusive`'s documentation). What [`canonicalize`] uses first; public so that tests and the
/// fuzz target can compare it with [`with_libxml2`], which must give the same bytes whenever
/// this gives `Some`.
pub fn exclusive_in_rust(
    doc: &XmlDocument,
    apex: Element<'_>,
    excluded: Option<Element<'_>>,
    prefixes: &[&str],
) -> Option<Vec<u8>> {
    exclusive::canonicalize(doc, apex, excluded, prefixes)
}

/// [`canonicalize`] through libxml2 only, whatever the mode (its contract, errors included).
/// Public for the comparison with [`exclusive_in_rust`].
pub fn with_libxml2(
    doc: &XmlDocument,
    apex: Element<'_>,
    excluded: Option<Element<'_>>,
    mode: Mode,
    prefixes: &[&str],
    with_comments: bool,
) -> Result<Vec<u8>, C14nError> {
    let visibility = Visibility {
        apex: apex.node_ptr(),
        excluded: excluded.map_or(ptr::null_mut(), Element::node_ptr),
    };
    let prefix_strings: Vec<CString> = prefixes
        .iter()
        .map(|p| CString::new(*p))
        .collect::<Result<_, _>>()
        .map_err(|_| C14nError)?;
    let mut prefix_ptrs: Vec<*mut u8> = prefix_strings
        .iter()
        .map(|p| p.as_ptr().cast_mut().cast::<u8>())
        .collect();
    prefix_ptrs.push(ptr::null_mut());
    let mut out: Vec<u8> = Vec::with_capacity(4096);

    // SAFETY: `out` outlives the buffer, which is closed (and so stops writing) before `out` is
    // read; the write callback only appends to it. The close callback is absent, so closing
    // frees only libxml2's own buffer structure.
    let buffer = unsafe {
        ffi::xmlOutputBufferCreateIO(
            Some(append_to_vec),
            None,
            (&raw mut out).cast::<c_void>(),
            ptr::null_mut(),
        )
    };
    if buffer.is_null() {
        return Err(C14nError);
    }
    let mode_code = mode.code();
    let prefix_list = if mode == Mode::Exclusive && !prefixes.is_empty() {
        prefix_ptrs.as_mut_ptr()
    } else {
        ptr::null_mut()
    };
    // SAFETY: the document is live and borrowed for the whole call; `visibility` and the
    // prefix strings outlive the call; libxml2 only reads them. The callback receives
    // `&visibility` back as `user_data`. The error handler is this thread's (libxml2 keeps it
    // per thread): silenced for the call, since the return code is what we act on, then reset.
    let status = unsafe {
        ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), Some(ignore_error));
        let status = ffi::xmlC14NExecute(
            doc.doc_ptr(),
            Some(is_visible),
            (&raw const visibility).cast_mut().cast::<c_void>(),
            mode_code,
            prefix_list,
            c_int::from(with_comments),
            buffer,
        );
        ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), None);
        status
    };
    // SAFETY: `buffer` came from xmlOutputBufferCreateIO and is closed exactly once; closing
    // flushes the last bytes into `out` through the write callback.
    let closed = unsafe { ffi::xmlOutputBufferClose(buffer) };
    if status < 0 || closed < 0 || out.is_empty() {
        return Err(C14nError);
    }
    Ok(out)
}

/// libxml2 write callback: appends `len` bytes to the `Vec<u8>` behind `context`.
///
/// # Safety
/// `context` is the `*mut Vec<u8>` given to `xmlOutputBufferCreateIO`, alive and not otherwise
/// borrowed during the write; `buffer` holds `len` readable bytes.
unsafe extern "C" fn append_to_vec(
    context: *mut c_void,
    buffer: *const c_char,
    len: c_int,
) -> c_int {
    let Ok(length) = usize::try_from(len) else {
        return -1;
    };
    if context.is_null() || (buffer.is_null() && length > 0) {
        return -1;
    }
    // SAFETY: guaranteed by the caller (see above).
    unsafe {
        let out = &mut *context.cast::<Vec<u8>>();
        out.extend_from_slice(std::slice::from_raw_parts(buffer.cast::<u8>(), length));
    }
    len
}

/// libxml2 error callback that drops the message (C14N failures are reported by return code).
///
/// # Safety
/// Called by libxml2 with its own arguments; it touches neither.
unsafe extern "C" fn ignore_error(_user_data: *mut c_void, _error: *mut XmlError) {}

/// libxml2 visibility callback: 1 when `node` lies inside the apex and outside the excluded
/// subtree. Namespace nodes are judged by the element they belong to (`parent`).
///
/// # Safety
/// `user_data` is the `*const Visibility` given to `xmlC14NExecute`; `node` and `parent` are
/// null or live nodes of the document being canonicalized.
unsafe extern "C" fn is_visible(
    user_data: *mut c_void,
    node: *mut XmlNode,
    parent: *mut XmlNode,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let visibility = &*user_data.cast::<Visibility>();
        let mut current = if node.is_null() || (*node).type_ == XML_NAMESPACE_DECL {
            parent
        } else {
            node
        };
        while !current.is_null() {
            if current == visibility.excluded {
                return 0;
            }
            if current == visibility.apex {
                return 1;
            }
            current = (*current).parent;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::parse;

    #[test]
    fn exclusive_c14n_of_subtree_without_excluded_child() {
        let doc = parse(
            br#"<r xmlns:a="urn:a" xmlns:u="urn:unused"><a:x  b="2" a="1"><a:sig>s</a:sig><y/></a:x></r>"#,
            1000,
        )
        .unwrap();
        let x = doc.root().unwrap().children().next().unwrap();
        let sig = x.children().next().unwrap();
        let out = canonicalize(&doc, x, Some(sig), Mode::Exclusive, &[], false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<a:x xmlns:a="urn:a" a="1" b="2"><y></y></a:x>"#
        );
        for mode in [Mode::Inclusive10, Mode::Inclusive11] {
            let incl = canonicalize(&doc, x, None, mode, &[], false).unwrap();
            assert_eq!(
                String::from_utf8(incl).unwrap(),
                r#"<a:x xmlns:a="urn:a" xmlns:u="urn:unused" a="1" b="2"><a:sig>s</a:sig><y></y></a:x>"#,
                "{mode:?}"
            );
        }
    }

    #[test]
    fn inclusive_modes_differ_on_inherited_xml_attributes() {
        // C14N 1.0 carries every xml: attribute of the ancestors onto the apex; 1.1 only
        // xml:lang and xml:space (xml:id and xml:base are not inherited as such).
        let doc = parse(
            br#"<r xml:lang="en" xml:id="r1"><x xmlns="urn:x"><y/></x></r>"#,
            1000,
        )
        .unwrap();
        let x = doc.root().unwrap().children().next().unwrap();
        let c10 = canonicalize(&doc, x, None, Mode::Inclusive10, &[], false).unwrap();
        assert_eq!(
            String::from_utf8(c10).unwrap(),
            r#"<x xmlns="urn:x" xml:id="r1" xml:lang="en"><y></y></x>"#
        );
        let c11 = canonicalize(&doc, x, None, Mode::Inclusive11, &[], false).unwrap();
        assert_eq!(
            String::from_utf8(c11).unwrap(),
            r#"<x xmlns="urn:x" xml:lang="en"><y></y></x>"#
        );
    }

    #[test]
    fn prefix_list_renders_inherited_namespace() {
        let doc = parse(br#"<r xmlns:xs="urn:xs"><x t="xs:string"/></r>"#, 1000).unwrap();
        let x = doc.root().unwrap().children().next().unwrap();
        let plain = canonicalize(&doc, x, None, Mode::Exclusive, &[], false).unwrap();
        assert_eq!(plain, br#"<x t="xs:string"></x>"#);
        let listed = canonicalize(&doc, x, None, Mode::Exclusive, &["xs"], false).unwrap();
        assert_eq!(listed, br#"<x xmlns:xs="urn:xs" t="xs:string"></x>"#);
    }

    #[test]
    fn relative_namespace_uri_is_an_error_not_empty_output() {
        let doc = parse(br#"<r xmlns:p="relative"><p:x/></r>"#, 1000).unwrap();
        let root = doc.root().unwrap();
        assert_eq!(
            canonicalize(&doc, root, None, Mode::Exclusive, &[], false),
            Err(C14nError)
        );
    }
}
