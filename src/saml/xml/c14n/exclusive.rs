//! Exclusive XML Canonicalization 1.0 without comments, written in Rust over libxml2's tree.
//!
//! It renders exactly what libxml2 2.9's `xmlC14NExecute` renders for the same node set (the
//! apex's subtree minus the excluded one), because it follows libxml2's own algorithm step by
//! step (`xmlExcC14NProcessNamespacesAxis`, its namespace stack, its attribute order and
//! escapes), not a reading of the specification that could differ from it on a corner. What it
//! saves is libxml2's walk of the *whole* document with two sorted lists allocated per element
//! and a URI parse per namespace: about a quarter of a validation's instructions.
//!
//! It answers only for documents and node sets it fully understands, and returns `None`
//! otherwise; the caller then runs libxml2, so an unusual input costs time, never a different
//! verdict. `None` when:
//! - the PrefixList names the default namespace (`#default`);
//! - any namespace declaration anywhere in the document has a URI outside the plain shapes
//!   `urn:...` and `http(s)://host/...` of [`plain_namespace_uri`] (libxml2 fails the whole
//!   canonicalization on a relative or unparsable namespace URI, on any element, visible or not,
//!   and writes namespace URIs unescaped: both are left to libxml2);
//! - the subtree holds a processing instruction or a node other than elements, text, CDATA and
//!   comments, or an attribute value that is not plain text, or the `xml` prefix bound to
//!   another URI, or nests deeper than [`MAX_DEPTH`];
//! - the apex is not an element of `doc`.
//!
//! Its agreement with libxml2 is tested byte for byte: over random documents (property test
//! below), over every element of every fixture, corpus and attack document
//! (`tests/suite/c14n.rs`), and on every input of the fuzz target.

use std::ffi::{CStr, c_char};
use std::ptr;

use super::super::ffi::{
    XML_CDATA_SECTION_NODE, XML_COMMENT_NODE, XML_ELEMENT_NODE, XML_TEXT_NODE, XmlAttr, XmlNode,
    XmlNs,
};
use super::super::{Element, MAX_DEPTH, XmlDocument};

/// The namespace the `xml` prefix is bound to, which C14N never declares.
const XML_NAMESPACE: &[u8] = b"http://www.w3.org/XML/1998/namespace";

/// Exclusive C14N (no comments) of `apex` minus `excluded`, or `None` when this input is left to
/// libxml2 (see the module documentation).
pub(super) fn canonicalize(
    doc: &XmlDocument,
    apex: Element<'_>,
    excluded: Option<Element<'_>>,
    prefixes: &[&str],
) -> Option<Vec<u8>> {
    if prefixes.iter().any(|p| *p == "#default" || p.is_empty()) {
        return None;
    }
    // SAFETY: `apex` borrows a live document; its `doc` field is only compared.
    if unsafe { (*apex.node_ptr()).doc } != doc.doc_ptr() || !doc.has_plain_namespaces() {
        return None;
    }
    let excluded = excluded.map_or(ptr::null_mut(), Element::node_ptr);
    if excluded == apex.node_ptr() {
        return None;
    }
    let mut writer = Writer {
        out: Vec::with_capacity(8 * 1024),
        stack: Vec::with_capacity(16),
        prev_start: 0,
        prev_end: 0,
        excluded,
        prefixes,
        namespaces: Vec::with_capacity(8),
        attributes: Vec::with_capacity(8),
    };
    // SAFETY: `apex` is a live element of `doc`, which is borrowed for the whole call; the
    // writer only reads the tree.
    unsafe { writer.element(apex.node_ptr(), 0)? };
    Some(writer.out)
}

/// True when every namespace declaration of the document has a URI that
/// [`plain_namespace_uri`] accepts (or is empty, an undeclaration).
///
/// # Safety
/// `first` is null or a live node; its siblings and descendants stay alive during the call.
pub(in super::super) unsafe fn plain_namespaces(first: *mut XmlNode) -> bool {
    let mut node = first;
    let stop = if first.is_null() {
        ptr::null_mut()
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { (*first).parent }
    };
    // SAFETY: for the whole loop, guaranteed by the caller; only reads.
    unsafe {
        while !node.is_null() {
            if (*node).type_ == XML_ELEMENT_NODE {
                let mut ns = (*node).nsDef;
                while !ns.is_null() {
                    let href = bytes((*ns).href);
                    if !href.is_empty() && !plain_namespace_uri(href) {
                        return false;
                    }
                    ns = (*ns).next;
                }
                if !(*node).children.is_null() {
                    node = (*node).children;
                    continue;
                }
            }
            while (*node).next.is_null() {
                node = (*node).parent;
                if node.is_null() || node == stop {
                    return true;
                }
            }
            node = (*node).next;
        }
    }
    true
}

/// The namespace URIs this module canonicalizes itself: `urn:` followed by a name, or
/// `http://`/`https://`, a host name, and a path, query and fragment made of plain characters.
/// Every such URI is absolute for every libxml2 2.9 release (its RFC 3986 parser accepts it and
/// finds a scheme, and the older rule "urn, dav or a server" holds too), and needs no escaping
/// (libxml2 writes namespace URIs as they are). Everything else goes to libxml2.
fn plain_namespace_uri(uri: &[u8]) -> bool {
    // RFC 3986 pchar without '%' (a percent must be followed by two hex digits), '&' and '\''.
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._~:@!$()*+,;=".contains(&b);
    let rest = if let Some(name) = uri.strip_prefix(b"urn:") {
        // A name must start the rest, so that "urn://" never reads as an authority.
        if !name.first().is_some_and(u8::is_ascii_alphanumeric) {
            return false;
        }
        name
    } else if let Some(after) = uri
        .strip_prefix(b"http://")
        .or_else(|| uri.strip_prefix(b"https://"))
    {
        // A host name starting with a letter (never an IPv4 address, never a user or a port).
        let host_len = after
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
            .unwrap_or(after.len());
        if !after.first().is_some_and(u8::is_ascii_alphabetic) {
            return false;
        }
        let path = &after[host_len..];
        if !(path.is_empty() || matches!(path[0], b'/' | b'?' | b'#')) {
            return false;
        }
        path
    } else {
        return false;
    };
    let (before_fragment, fragment) = match rest.iter().position(|&b| b == b'#') {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let in_path_or_query = |b: u8| plain(b) || b == b'/' || b == b'?';
    before_fragment.iter().all(|&b| in_path_or_query(b))
        && fragment.is_none_or(|f| f.iter().all(|&b| in_path_or_query(b)))
}

/// The bytes of a libxml2 string; null reads as "" (as libxml2's C14N compares them).
///
/// # Safety
/// `p` is null or a NUL-terminated string that outlives `'a`.
unsafe fn bytes<'a>(p: *const u8) -> &'a [u8] {
    if p.is_null() {
        b""
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { CStr::from_ptr(p.cast::<c_char>()) }.to_bytes()
    }
}

/// Whether two strings of the document are equal: most comparisons are of one declaration's
/// prefix or URI with itself (every element of a namespace points to the same declaration), so
/// the same bytes are recognised without comparing them.
fn same(a: &[u8], b: &[u8]) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// A namespace as the C14N namespace stack holds it: (prefix, URI), "" for null.
type Binding<'a> = (&'a [u8], &'a [u8]);

/// The state of one canonicalization.
struct Writer<'p, 'a> {
    out: Vec<u8>,
    /// libxml2's `ns_rendered` stack: the namespaces each output ancestor utilized.
    stack: Vec<Binding<'a>>,
    /// libxml2's `nsPrevStart`: where the entries of the parent output element begin.
    prev_start: usize,
    /// libxml2's `nsPrevEnd`: where they end.
    prev_end: usize,
    excluded: *mut XmlNode,
    prefixes: &'p [&'p str],
    /// Scratch list of the namespaces one element renders (reused: an element's axes are
    /// complete before its children are visited).
    namespaces: Vec<Binding<'a>>,
    /// Scratch list of one element's attributes: (qualified, namespace URI, local name, node).
    attributes: Vec<(bool, &'a [u8], &'a [u8], *mut XmlAttr)>,
}

impl<'a> Writer<'_, 'a> {
    /// Renders the element `node` (visible: inside the apex, not the excluded one) and its
    /// content; `None` for anything left to libxml2.
    ///
    /// # Safety
    /// `node` is a live element of a document that outlives `'a`.
    unsafe fn element(&mut self, node: *mut XmlNode, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let saved = (self.stack.len(), self.prev_start, self.prev_end);
        // SAFETY: for the whole block, every pointer followed stays inside the live document.
        unsafe {
            let ns = (*node).ns;
            self.out.push(b'<');
            self.qname(ns, (*node).name);
            self.namespace_axis(node)?;
            self.prev_start = self.prev_end;
            self.prev_end = self.stack.len();
            self.attribute_axis(node)?;
            self.out.push(b'>');
            let mut child = (*node).children;
            while !child.is_null() {
                let kind = (*child).type_;
                if child == self.excluded || kind == XML_COMMENT_NODE {
                    // Invisible: the enveloped signature, and comments (no comments mode).
                } else if kind == XML_ELEMENT_NODE {
                    self.element(child, depth + 1)?;
                } else if kind == XML_TEXT_NODE || kind == XML_CDATA_SECTION_NODE {
                    escape_text(&mut self.out, bytes((*child).content));
                } else {
                    return None;
                }
                child = (*child).next;
            }
            self.out.extend_from_slice(b"</");
            self.qname(ns, (*node).name);
            self.out.push(b'>');
        }
        self.stack.truncate(saved.0);
        (self.prev_start, self.prev_end) = (saved.1, saved.2);
        Some(())
    }

    /// libxml2's `xmlExcC14NProcessNamespacesAxis` for a visible element: the namespaces the
    /// element visibly utilizes (its own, its attributes', and those of the PrefixList), minus
    /// those an output ancestor already rendered with the same URI, sorted by prefix.
    ///
    /// # Safety
    /// `node` is a live element of a document that outlives `'a`.
    unsafe fn namespace_axis(&mut self, node: *mut XmlNode) -> Option<()> {
        let mut list = std::mem::take(&mut self.namespaces);
        list.clear();
        let mut has_empty_ns = false;
        // SAFETY: for the whole block, `node`, its attributes and its ancestors are live.
        unsafe {
            for prefix in self.prefixes {
                let found = search_ns(node, Some(prefix.as_bytes()));
                let Some(binding) = binding(found)? else {
                    continue;
                };
                let rendered = self.rendered_inclusive(binding);
                self.stack.push(binding);
                if !rendered {
                    list.push(binding);
                }
                if binding.0.is_empty() {
                    has_empty_ns = true;
                }
            }
            let mut utilizes_empty_ns = false;
            let own = if (*node).ns.is_null() {
                utilizes_empty_ns = true;
                search_ns(node, None)
            } else {
                (*node).ns
            };
            if let Some(binding) = binding(own)? {
                if !self.rendered_exclusive(binding) {
                    list.push(binding);
                }
                self.stack.push(binding);
                if binding.0.is_empty() {
                    has_empty_ns = true;
                }
            }
            let mut attr: *mut XmlAttr = (*node).properties;
            while !attr.is_null() {
                let ns = (*attr).ns;
                if let Some(binding) = binding(ns)? {
                    let rendered = self.rendered_exclusive(binding);
                    self.stack.push(binding);
                    if !rendered {
                        list.push(binding);
                    }
                    if binding.0.is_empty() {
                        has_empty_ns = true;
                    }
                } else if !ns.is_null()
                    && bytes((*ns).prefix).is_empty()
                    && bytes((*ns).href).is_empty()
                {
                    utilizes_empty_ns = true;
                }
                attr = (*attr).next;
            }
            if utilizes_empty_ns && !has_empty_ns && !self.rendered_exclusive((b"", b"")) {
                self.out.extend_from_slice(b" xmlns=\"\"");
            }
        }
        // libxml2 inserts each into a list sorted by prefix (null first), before the equal ones
        // already there: a stable sort of the reversed arrival order gives the same sequence.
        list.reverse();
        list.sort_by(|a, b| a.0.cmp(b.0));
        for &(prefix, uri) in &list {
            if prefix.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(prefix);
                self.out.extend_from_slice(b"=\"");
            }
            // Plain URIs (checked for the whole document) need no escaping.
            self.out.extend_from_slice(uri);
            self.out.push(b'"');
        }
        self.namespaces = list;
        Some(())
    }

    /// libxml2's `xmlC14NVisibleNsStackFind` (used for PrefixList namespaces): rendered when the
    /// parent output element's entries bind the prefix to the same URI.
    fn rendered_inclusive(&self, (prefix, uri): Binding<'_>) -> bool {
        let empty = prefix.is_empty() && uri.is_empty();
        let start = if empty { 0 } else { self.prev_start };
        self.stack[start.min(self.stack.len())..]
            .iter()
            .rev()
            .find(|(p, _)| same(p, prefix))
            .map_or(empty, |(_, u)| same(u, uri))
    }

    /// libxml2's `xmlExcC14NVisibleNsStackFind`: rendered when the nearest entry for the prefix
    /// binds it to the same URI (every entry belongs to a visible element).
    fn rendered_exclusive(&self, (prefix, uri): Binding<'_>) -> bool {
        let empty = prefix.is_empty() && uri.is_empty();
        self.stack
            .iter()
            .rev()
            .find(|(p, _)| same(p, prefix))
            .map_or(empty, |(_, u)| same(u, uri))
    }

    /// The attributes in libxml2's order: no namespace first, by local name; then by namespace
    /// URI and local name.
    ///
    /// # Safety
    /// `node` is a live element of a document that outlives `'a`.
    unsafe fn attribute_axis(&mut self, node: *mut XmlNode) -> Option<()> {
        let mut attrs = std::mem::take(&mut self.attributes);
        attrs.clear();
        // SAFETY: for the whole block, the attributes, their namespaces and value nodes are live.
        unsafe {
            let mut attr: *mut XmlAttr = (*node).properties;
            while !attr.is_null() {
                let ns = (*attr).ns;
                let uri = if ns.is_null() {
                    &b""[..]
                } else {
                    bytes((*ns).href)
                };
                attrs.push((!ns.is_null(), uri, bytes((*attr).name), attr));
                attr = (*attr).next;
            }
            // `false` sorts first: unqualified attributes before the others. Ties cannot occur
            // (a parsed element has no two attributes with one expanded name); reversed like
            // the namespaces for the same reason anyway.
            attrs.reverse();
            attrs.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
            for &(_, _, _, attr) in &attrs {
                self.out.push(b' ');
                self.qname((*attr).ns, (*attr).name);
                self.out.extend_from_slice(b"=\"");
                let mut child = (*attr).children;
                while !child.is_null() {
                    let kind = (*child).type_;
                    if kind != XML_TEXT_NODE && kind != XML_CDATA_SECTION_NODE {
                        return None;
                    }
                    escape_attribute(&mut self.out, bytes((*child).content));
                    child = (*child).next;
                }
                self.out.push(b'"');
            }
        }
        self.attributes = attrs;
        Some(())
    }

    /// Writes `prefix:name`, or `name` when the namespace is null or has no prefix.
    ///
    /// # Safety
    /// `ns` is null or a live namespace; `name` a live NUL-terminated name.
    unsafe fn qname(&mut self, ns: *mut XmlNs, name: *const u8) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            if !ns.is_null() {
                let prefix = bytes((*ns).prefix);
                if !prefix.is_empty() {
                    self.out.extend_from_slice(prefix);
                    self.out.push(b':');
                }
            }
            self.out.extend_from_slice(bytes(name));
        }
    }
}

/// The binding of a namespace that takes part in C14N: `Some(None)` for none (null, or the
/// `xml` namespace, which is never declared); `None` (left to libxml2) for the `xml` prefix bound
/// to anything else, which a parsed document cannot hold.
///
/// # Safety
/// `ns` is null or a live namespace of a document that outlives `'a`.
unsafe fn binding<'a>(ns: *mut XmlNs) -> Option<Option<Binding<'a>>> {
    if ns.is_null() {
        return Some(None);
    }
    // SAFETY: guaranteed by the caller.
    let (prefix, uri) = unsafe { (bytes((*ns).prefix), bytes((*ns).href)) };
    if prefix == b"xml" {
        return (uri == XML_NAMESPACE).then_some(None);
    }
    Some(Some((prefix, uri)))
}

/// libxml2's `xmlSearchNs` on a parsed element: the declaration of `prefix` (`None`: the default
/// namespace) in scope at `node`, null when there is none. The `xml` prefix is answered by the
/// caller's [`binding`] rule, so it is looked up like any other here and finds nothing.
///
/// # Safety
/// `node` is a live element; its ancestors are live.
unsafe fn search_ns(node: *mut XmlNode, prefix: Option<&[u8]>) -> *mut XmlNs {
    let matches = |ns: *mut XmlNs| {
        // SAFETY: `ns` is a live namespace of the same document.
        let (ns_prefix, href) = unsafe { ((*ns).prefix, (*ns).href) };
        !href.is_null()
            && match prefix {
                // SAFETY: `ns_prefix` is non-null and NUL-terminated.
                Some(wanted) => !ns_prefix.is_null() && unsafe { bytes(ns_prefix) } == wanted,
                None => ns_prefix.is_null(),
            }
    };
    let mut current = node;
    // SAFETY: walking up a live tree; `nsDef` lists and `ns` belong to each element.
    unsafe {
        while !current.is_null() && (*current).type_ == XML_ELEMENT_NODE {
            let mut ns = (*current).nsDef;
            while !ns.is_null() {
                if matches(ns) {
                    return ns;
                }
                ns = (*ns).next;
            }
            if current != node && !(*current).ns.is_null() && matches((*current).ns) {
                return (*current).ns;
            }
            current = (*current).parent;
        }
    }
    ptr::null_mut()
}

/// Text content as C14N writes it: `&`, `<`, `>` and CR escaped.
fn escape_text(out: &mut Vec<u8>, text: &[u8]) {
    escape(out, text, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// An attribute value as C14N writes it: `&`, `<`, `"`, TAB, LF and CR escaped.
fn escape_attribute(out: &mut Vec<u8>, text: &[u8]) {
    escape(out, text, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Appends `text` to `out`, each byte `replacement` names replaced (UTF-8 continuation bytes
/// are never ASCII, so a byte-wise pass is exact).
fn escape(out: &mut Vec<u8>, text: &[u8], replacement: impl Fn(u8) -> Option<&'static [u8]>) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if let Some(with) = replacement(b) {
            out.extend_from_slice(&text[start..i]);
            out.extend_from_slice(with);
            start = i + 1;
        }
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests;
