//! The one XML parser of fedbridge (libxml2), hardened, and a read-only view of its tree.
//!
//! Everything that reads SAML bytes goes through [`parse`]: DTDs and entities are refused, the
//! network is off, recovery is off, the size is bounded before parsing and the depth right after.
//! This module, [`c14n`] and `ffi` (libxml2's C API, declared by hand and checked against the
//! headers by `build.rs`) are the only places with `unsafe` FFI; every block says why it is sound.

pub mod c14n;
mod ffi;

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::Once;

use ffi::{
    XML_CDATA_SECTION_NODE, XML_DTD_NODE, XML_ELEMENT_NODE, XML_ENTITY_REF_NODE, XML_ERR_ERROR,
    XML_ERR_FATAL, XML_PARSE_COMPACT, XML_PARSE_NOERROR, XML_PARSE_NONET, XML_PARSE_NOWARNING,
    XML_TEXT_NODE, XmlAttr, XmlDoc, XmlNode, XmlParserCtxt, XmlParserInput,
};

/// Deepest element nesting accepted; a SAML response nests about 10 levels.
pub const MAX_DEPTH: usize = 64;

/// Why a byte string is not an acceptable XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Nothing but whitespace.
    #[error("the document is empty")]
    Empty,
    /// Longer than the configured limit.
    #[error("the document is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size seen.
        size: usize,
        /// Limit in force.
        limit: usize,
    },
    /// A DOCTYPE, entity declaration or entity reference.
    #[error("the document carries a DOCTYPE or entity declaration, which SAML never needs")]
    DtdForbidden,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("elements are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
    /// A NUL byte: libxml2 stops reading at the first one, so whatever follows it would be
    /// ignored unseen (XML 1.0 allows no NUL character anyway; UTF-16 documents are refused).
    #[error("the document contains a NUL byte, which XML never allows")]
    NulByte,
    /// libxml2 refused the document.
    #[error("the XML is not well-formed: {0}")]
    Malformed(String),
}

/// A parsed, hardened document. Not `Send`: libxml2 trees stay on the thread that parsed them.
pub struct XmlDocument {
    doc: NonNull<XmlDoc>,
    /// Whether every namespace URI of the document is one the Rust C14N handles, computed on
    /// first use (a signature canonicalizes twice).
    plain_namespaces: OnceCell<bool>,
}

impl Drop for XmlDocument {
    fn drop(&mut self) {
        // SAFETY: `doc` came from `xmlCtxtReadMemory`, is owned by `self` alone and is freed
        // exactly once; every `Element` borrows `self`, so none outlives the tree.
        unsafe { ffi::xmlFreeDoc(self.doc.as_ptr()) }
    }
}

/// The libxml2 parser options of [`parse`]: errors and warnings reach the structured handler
/// only (never stderr), and no network access. Deliberately absent: `XML_PARSE_RECOVER` (a
/// broken document is refused, not repaired), `XML_PARSE_NOENT` (no entity substitution),
/// `XML_PARSE_DTDLOAD`/`DTDATTR`/`DTDVALID` (no DTD is loaded or applied) and
/// `XML_PARSE_HUGE` (libxml2's hard limits stay, depth 256 among them). These are the flags
/// the `libxml` crate passed for the options fedbridge used to give it, plus
/// `XML_PARSE_COMPACT`, which only changes where libxml2 stores short text (inside its node
/// instead of a separate allocation).
const PARSE_OPTIONS: c_int =
    XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NONET | XML_PARSE_COMPACT;

/// Parses `bytes` with libxml2 under fedbridge's hardening rules.
///
/// Refused before parsing: empty input, more than `max_bytes`, any `<!DOCTYPE`. Refused after:
/// any DTD node or entity reference that slipped through, nesting deeper than [`MAX_DEPTH`].
pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<XmlDocument, XmlError> {
    if bytes.len() > max_bytes {
        return Err(XmlError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(XmlError::Empty);
    }
    if declares_dtd(bytes) {
        return Err(XmlError::DtdForbidden);
    }
    if bytes.contains(&0) {
        return Err(XmlError::NulByte);
    }
    let (doc, diagnostics) = parse_with_options(bytes, PARSE_OPTIONS, max_bytes)?;
    // libxml2 builds a tree despite "recoverable" errors, namespace errors among them (an
    // undeclared prefix, an attribute named `::foo`): such a document is not namespace
    // well-formed, and names would silently land in no namespace. Refuse it.
    if let Some(message) = diagnostics.first_error {
        return Err(XmlError::Malformed(one_line(&message)));
    }
    doc.check_shape()?;
    Ok(doc)
}

/// What libxml2 reported while parsing one document.
#[derive(Debug, Default)]
struct Diagnostics {
    /// How many were reported (counting stops at [`MAX_DIAGNOSTICS`]).
    count: usize,
    /// The message of the first one, whatever its level (`Some(None)`: it had none).
    first: Option<Option<String>>,
    /// The message of the first error or fatal error ("libxml2 reported an error" without one).
    first_error: Option<String>,
}

/// The most diagnostics looked at per parse: libxml2 2.9 reports every error, which hostile
/// input can make one per few bytes.
const MAX_DIAGNOSTICS: usize = 100;

/// A libxml2 parser context owned by one thread, freed on drop.
struct ParserContext(NonNull<XmlParserCtxt>);

impl ParserContext {
    fn new() -> Result<Self, XmlError> {
        // SAFETY: plain allocation, owned by the value returned (freed by its `Drop`).
        NonNull::new(unsafe { ffi::xmlNewParserCtxt() })
            .map(ParserContext)
            .ok_or_else(|| XmlError::Malformed("Could not allocate parser context".into()))
    }
}

impl Drop for ParserContext {
    fn drop(&mut self) {
        // SAFETY: the context is owned by `self` alone and freed once. Documents it parsed hold
        // their own reference to its dictionary, so they outlive it safely.
        unsafe { ffi::xmlFreeParserCtxt(self.0.as_ptr()) }
    }
}

/// The dictionary size (bytes of interned names) past which a thread's parser context is
/// replaced instead of reused, so that hostile documents full of distinct names cannot make it
/// grow without bound. SAML documents share a few hundred names: a few KiB.
const MAX_REUSED_DICTIONARY: usize = 256 * 1024;

thread_local! {
    /// This thread's parser context, reused from one parse to the next (`xmlCtxtReadMemory`
    /// resets it first, as libxml2 intends): the dictionary of names, the input and node tables
    /// are then made once, not per document.
    static PARSER_CONTEXT: Cell<Option<ParserContext>> = const { Cell::new(None) };
}

/// Runs libxml2's parser over `bytes` with `options` on this thread's parser context (see
/// [`PARSER_CONTEXT`]), the external entity loader of [`refuse_external_entities`] in place
/// and this thread's structured error handler collecting the diagnostics. More bytes than
/// libxml2 takes (`int`): [`XmlError::TooLarge`] with `max_bytes`; no document:
/// [`XmlError::TooDeep`] for libxml2's depth limit, else [`XmlError::Malformed`] with the first
/// message.
fn parse_with_options(
    bytes: &[u8],
    options: c_int,
    max_bytes: usize,
) -> Result<(XmlDocument, Diagnostics), XmlError> {
    let size = c_int::try_from(bytes.len()).map_err(|_| XmlError::TooLarge {
        size: bytes.len(),
        limit: max_bytes,
    })?;
    init_libxml2();
    // Only `parse`'s own options share the thread's context: libxml2 never clears option bits
    // of a context (`xmlCtxtUseOptionsInternal` ORs them in), so a context that ever parsed
    // with other options is used once. Taken out while in use: a parse started inside this
    // one would make its own.
    let reuse = options == PARSE_OPTIONS;
    let context = match PARSER_CONTEXT.take().filter(|_| reuse) {
        Some(context) => context,
        None => ParserContext::new()?,
    };
    let mut diagnostics = Diagnostics::default();
    // SAFETY: `bytes` is valid for `size` bytes during the call; URL and encoding are null
    // (none; the encoding is detected from the bytes). `diagnostics` outlives the call and is
    // handed to `collect_diagnostic` only through this thread's handler, which is reset before
    // `diagnostics` is read; libxml2 keeps the handler per thread, so other threads' parses are
    // unaffected. The context is this thread's alone; the document returned is independent of
    // it but for the shared, reference-counted dictionary.
    let document = unsafe {
        ffi::xmlSetStructuredErrorFunc(
            (&raw mut diagnostics).cast::<c_void>(),
            Some(collect_diagnostic),
        );
        let document = ffi::xmlCtxtReadMemory(
            context.0.as_ptr(),
            bytes.as_ptr().cast::<c_char>(),
            size,
            ptr::null(),
            ptr::null(),
            options,
        );
        ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), None);
        document
    };
    // Kept for the next parse after a success with a small dictionary; freed otherwise (a
    // failed parse leaves nothing worth keeping).
    // SAFETY: `document` is null or the live document just parsed; `dict` is null or its
    // dictionary.
    let dictionary = NonNull::new(document).map(|d| unsafe { (*d.as_ptr()).dict });
    if reuse
        && let Some(dict) = dictionary
        && !dict.is_null()
        // SAFETY: `dict` is the live dictionary of the live document.
        && unsafe { ffi::xmlDictGetUsage(dict) } <= MAX_REUSED_DICTIONARY
    {
        PARSER_CONTEXT.set(Some(context));
    }
    match NonNull::new(document) {
        Some(doc) => Ok((
            XmlDocument {
                doc,
                plain_namespaces: OnceCell::new(),
            },
            diagnostics,
        )),
        None => Err(malformed_or_too_deep(
            diagnostics
                .first
                .flatten()
                .as_deref()
                .map_or("Parser returned no document", str::trim_end),
        )),
    }
}

/// libxml2 structured error handler: records the first message and the first error's message
/// in the [`Diagnostics`] behind `context`.
///
/// # Safety
/// `context` is the `*mut Diagnostics` given to `xmlSetStructuredErrorFunc`, alive and not
/// otherwise borrowed during the call; `error` is null or a live `xmlError`.
unsafe extern "C" fn collect_diagnostic(context: *mut c_void, error: *mut ffi::XmlError) {
    if context.is_null() || error.is_null() {
        return;
    }
    // SAFETY: guaranteed by the caller (see above); the message is null or a C string.
    unsafe {
        let diagnostics = &mut *context.cast::<Diagnostics>();
        if diagnostics.count >= MAX_DIAGNOSTICS {
            return;
        }
        diagnostics.count += 1;
        let message = (*error).message;
        let text = || {
            if message.is_null() {
                None
            } else {
                Some(CStr::from_ptr(message).to_string_lossy().into_owned())
            }
        };
        if diagnostics.first.is_none() {
            diagnostics.first = Some(text());
        }
        let level = (*error).level;
        if diagnostics.first_error.is_none() && (level == XML_ERR_ERROR || level == XML_ERR_FATAL) {
            diagnostics.first_error =
                Some(text().unwrap_or_else(|| "libxml2 reported an error".into()));
        }
    }
}

/// Initialises libxml2 once per process, and installs the entity loader of
/// [`refuse_external_entities`], before the first parse.
fn init_libxml2() {
    static INITIALISED: Once = Once::new();
    // SAFETY: `xmlInitParser` sets up libxml2's global state; `Once` runs it exactly once,
    // before any parse of this process.
    INITIALISED.call_once(|| unsafe { ffi::xmlInitParser() });
    refuse_external_entities();
}

/// True when the bytes hold `<!DOCTYPE` or `<!ENTITY` in UTF-8/ASCII or in UTF-16 (LE or BE),
/// the encodings libxml2 detects by itself. Any other encoding that hides a DTD still gets no
/// external entity (see [`refuse_external_entities`]) and is refused after parsing.
///
/// One pass over the `<` bytes: this runs on every response, before parsing.
fn declares_dtd(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 2] = [b"!DOCTYPE", b"!ENTITY"];
    // Does `marker` follow the `<` at `at`? UTF-8: byte after byte. UTF-16: the ASCII byte of
    // character k sits at at + 2k, its zero byte right after (LE) or right before (BE).
    let utf8 =
        |at: usize, marker: &[u8]| bytes.get(at + 1..).is_some_and(|b| b.starts_with(marker));
    let utf16 = |at: usize, marker: &[u8], zero_side: isize| {
        marker.iter().enumerate().all(|(k, &c)| {
            let pos = at + 2 * (k + 1);
            let zero = pos.checked_add_signed(zero_side);
            bytes.get(pos) == Some(&c) && zero.and_then(|z| bytes.get(z)) == Some(&0)
        })
    };
    // UTF-16 puts a zero byte beside every ASCII character: with no zero byte at all, only the
    // UTF-8 form is possible, and both markers then follow a "<!" (found with SIMD).
    if memchr::memchr(0, bytes).is_none() {
        return memchr::memmem::find_iter(bytes, b"<!")
            .any(|at| MARKERS.iter().any(|m| utf8(at, m)));
    }
    let mut rest = 0;
    while let Some(offset) = memchr::memchr(b'<', &bytes[rest..]) {
        let at = rest + offset;
        if MARKERS
            .iter()
            .any(|m| utf8(at, m) || utf16(at, m, 1) || utf16(at, m, -1))
        {
            return true;
        }
        rest = at + 1;
    }
    false
}

/// Installs, once per process, an external entity loader that loads nothing: no file, no URL,
/// whatever the parser options or the document's encoding.
fn refuse_external_entities() {
    static INSTALLED: Once = Once::new();
    // SAFETY: `xmlSetExternalEntityLoader` stores a function pointer in a libxml2 global; it is
    // called once, before this process parses anything with it, and `refuse_entity` is valid
    // for the whole program.
    INSTALLED.call_once(|| unsafe { ffi::xmlSetExternalEntityLoader(Some(refuse_entity)) });
}

/// The external entity loader: always "cannot load", which libxml2 reports as an error.
///
/// # Safety
/// Called by libxml2 with its own arguments; it reads none of them.
unsafe extern "C" fn refuse_entity(
    _url: *const c_char,
    _id: *const c_char,
    _context: *mut XmlParserCtxt,
) -> *mut XmlParserInput {
    ptr::null_mut()
}

/// libxml2 stops at 256 levels with "Excessive depth in document": that is our [`XmlError::TooDeep`].
fn malformed_or_too_deep(message: &str) -> XmlError {
    if message.contains("Excessive depth in document") {
        XmlError::TooDeep
    } else {
        XmlError::Malformed(one_line(message))
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl XmlDocument {
    /// The root element.
    pub fn root(&self) -> Option<Element<'_>> {
        // SAFETY: `doc` is the live document owned by `self`; `children` of a document are its
        // top-level nodes (possibly comments/PIs), owned by the same document.
        let mut child = unsafe { (*self.doc.as_ptr()).children };
        while !child.is_null() {
            // SAFETY: `child` is a non-null node of the live document.
            if unsafe { (*child).type_ } == XML_ELEMENT_NODE {
                return Some(Element {
                    ptr: child,
                    _doc: PhantomData,
                });
            }
            // SAFETY: as above.
            child = unsafe { (*child).next };
        }
        None
    }

    /// The raw libxml2 document, for the C14N module.
    pub(crate) fn doc_ptr(&self) -> *mut XmlDoc {
        self.doc.as_ptr()
    }

    /// True when every namespace declaration of the document has a URI the Rust C14N handles
    /// (`c14n::exclusive`'s `plain_namespace_uri`); computed once per document.
    fn has_plain_namespaces(&self) -> bool {
        *self.plain_namespaces.get_or_init(|| {
            // SAFETY: the document is live and borrowed for the call; the walk only reads.
            unsafe { c14n::plain_namespaces((*self.doc.as_ptr()).children) }
        })
    }

    /// Rejects DTD nodes, entity references and excessive depth, without recursion.
    fn check_shape(&self) -> Result<(), XmlError> {
        let doc = self.doc.as_ptr();
        // SAFETY: `doc` is live; `intSubset`/`extSubset` are read-only pointers of the document.
        if unsafe { !(*doc).intSubset.is_null() || !(*doc).extSubset.is_null() } {
            return Err(XmlError::DtdForbidden);
        }
        // SAFETY: `doc` is live; its children list belongs to it.
        let mut node: *mut XmlNode = unsafe { (*doc).children };
        let mut depth = 1usize;
        while !node.is_null() {
            // SAFETY: every pointer followed below (`children`, `next`, `parent`) stays inside
            // the live tree; the loop only reads.
            unsafe {
                let kind = (*node).type_;
                if kind == XML_DTD_NODE || kind == XML_ENTITY_REF_NODE {
                    return Err(XmlError::DtdForbidden);
                }
                if kind == XML_ELEMENT_NODE && !(*node).children.is_null() {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                    node = (*node).children;
                    continue;
                }
                while (*node).next.is_null() {
                    node = (*node).parent;
                    depth -= 1;
                    if node.is_null() || node.cast() == doc {
                        return Ok(());
                    }
                }
                node = (*node).next;
            }
        }
        Ok(())
    }
}

/// A read-only element of an [`XmlDocument`]; borrowed strings live as long as the document.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    ptr: *mut XmlNode,
    _doc: PhantomData<&'a XmlDocument>,
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        ptr::eq(self.ptr, other.ptr)
    }
}
impl Eq for Element<'_> {}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.local_name())
    }
}

/// Whether the NUL-terminated `p` (null reads as "") equals `expected`, compared in place.
///
/// # Safety
/// `p` is null or a live NUL-terminated string.
unsafe fn c_str_is(p: *const u8, expected: &str) -> bool {
    if p.is_null() {
        return expected.is_empty();
    }
    for (i, &b) in expected.as_bytes().iter().enumerate() {
        // SAFETY: every byte read is at or before the terminating NUL: the loop stops at the
        // first difference, and the NUL differs from any byte of `expected` but a NUL, after
        // which a C string cannot go on being equal anyway.
        if b == 0 || unsafe { *p.add(i) } != b {
            return false;
        }
    }
    // SAFETY: all of `expected` matched, so the string is at least that long.
    unsafe { *p.add(expected.len()) == 0 }
}

/// Reads a libxml2 string as `&str`; invalid UTF-8 (impossible after a successful parse) reads as "".
///
/// # Safety
/// `p` is null or a NUL-terminated string that outlives `'a`.
unsafe fn xml_str<'a>(p: *const u8) -> &'a str {
    if p.is_null() {
        return "";
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p.cast::<c_char>()) }
        .to_str()
        .unwrap_or("")
}

impl<'a> Element<'a> {
    /// The raw node, for the C14N module.
    pub(crate) fn node_ptr(self) -> *mut XmlNode {
        self.ptr
    }

    /// The element's local name (without prefix).
    pub fn local_name(self) -> &'a str {
        // SAFETY: `ptr` is a live element of a document borrowed for 'a; `name` is its
        // NUL-terminated, document-owned name.
        unsafe { xml_str((*self.ptr).name) }
    }

    /// The element's namespace URI, "" when it has none.
    pub fn namespace(self) -> &'a str {
        // SAFETY: `ns` is null or a namespace owned by the live document.
        unsafe {
            let ns = (*self.ptr).ns;
            if ns.is_null() {
                ""
            } else {
                xml_str((*ns).href)
            }
        }
    }

    /// True when the element is `{namespace}local`.
    pub fn is(self, namespace: &str, local: &str) -> bool {
        // Compares bytes with the NUL-terminated names in place: no length scan, no UTF-8
        // check (this runs for every child looked at).
        // SAFETY: `name` and the namespace's `href` are NUL-terminated strings owned by the
        // live document borrowed for 'a.
        unsafe {
            let ns = (*self.ptr).ns;
            c_str_is((*self.ptr).name, local)
                && if ns.is_null() {
                    namespace.is_empty()
                } else {
                    c_str_is((*ns).href, namespace)
                }
        }
    }

    /// The parent element, `None` at the root.
    pub fn parent(self) -> Option<Element<'a>> {
        // SAFETY: `parent` is null or a node of the same live document.
        let parent = unsafe { (*self.ptr).parent };
        // SAFETY: checked non-null before reading its type.
        if parent.is_null() || unsafe { (*parent).type_ } != XML_ELEMENT_NODE {
            None
        } else {
            Some(Element {
                ptr: parent,
                _doc: PhantomData,
            })
        }
    }

    /// The child elements, in document order.
    pub fn children(self) -> Children<'a> {
        // SAFETY: `children` is null or the first child node of this live element.
        let first = unsafe { (*self.ptr).children };
        Children {
            next: first,
            _doc: PhantomData,
        }
    }

    /// Child elements named `{namespace}local`.
    pub fn children_named(
        self,
        namespace: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = Element<'a>> + 'a {
        self.children().filter(move |c| c.is(namespace, local))
    }

    /// The only child `{namespace}local`; `Err(n)` with the count when there are n != 1.
    pub fn only_child(self, namespace: &str, local: &str) -> Result<Element<'a>, usize> {
        let mut found = None;
        let mut count = 0;
        for child in self.children() {
            if child.is(namespace, local) {
                count += 1;
                found.get_or_insert(child);
            }
        }
        match (count, found) {
            (1, Some(e)) => Ok(e),
            _ => Err(count),
        }
    }

    /// The first child `{namespace}local`, if any.
    pub fn first_child(self, namespace: &str, local: &str) -> Option<Element<'a>> {
        self.children().find(|c| c.is(namespace, local))
    }

    /// The value of the attribute `name` that has no namespace.
    pub fn attr(self, name: &str) -> Option<Cow<'a, str>> {
        // Names first; only the value of the attribute found is read.
        // SAFETY: `properties` is null or the first attribute of this live element; names and
        // value nodes are owned by the document borrowed for 'a.
        unsafe {
            let mut attr: *mut XmlAttr = (*self.ptr).properties;
            while !attr.is_null() {
                if (*attr).ns.is_null() && c_str_is((*attr).name, name) {
                    return Some(concat_text((*attr).children, false));
                }
                attr = (*attr).next;
            }
        }
        None
    }

    /// Every attribute of the element.
    pub fn attrs(self) -> impl Iterator<Item = Attribute<'a>> {
        // SAFETY: `properties` is null or the first attribute of this live element.
        let mut next: *mut XmlAttr = unsafe { (*self.ptr).properties };
        std::iter::from_fn(move || {
            if next.is_null() {
                return None;
            }
            let attr = next;
            // SAFETY: `attr` is a live attribute of this element; its name, namespace and value
            // children are owned by the document.
            unsafe {
                next = (*attr).next;
                let namespace = if (*attr).ns.is_null() {
                    ""
                } else {
                    xml_str((*(*attr).ns).href)
                };
                Some(Attribute {
                    name: xml_str((*attr).name),
                    namespace,
                    value: concat_text((*attr).children, false),
                })
            }
        })
    }

    /// The full text content: every descendant text and CDATA node, concatenated. Comments and
    /// processing instructions are skipped, never a reason to stop reading (CVE-2017-11427).
    pub fn text(self) -> Cow<'a, str> {
        // SAFETY: `children` is null or the first child of this live element.
        unsafe { concat_text((*self.ptr).children, true) }
    }

    /// Every descendant element (not including `self`), in document order.
    pub fn descendants(self) -> Descendants<'a> {
        Descendants {
            root: self.ptr,
            next: self.children().next(),
            _doc: PhantomData,
        }
    }

    /// True when `self` is `other` or one of its descendants.
    pub fn is_within(self, other: Element<'_>) -> bool {
        let mut node = self.ptr;
        while !node.is_null() {
            if ptr::eq(node, other.ptr) {
                return true;
            }
            // SAFETY: walking `parent` pointers of a live node ends at the document (then null).
            node = unsafe { (*node).parent };
        }
        false
    }

    /// The namespace declarations in scope at this element, innermost first, as (prefix, URI);
    /// the default namespace has prefix "".
    pub fn namespaces_in_scope(self) -> Vec<(&'a str, &'a str)> {
        let mut seen: Vec<(&'a str, &'a str)> = Vec::new();
        let mut node = self.ptr;
        // SAFETY: walking up a live tree; `nsDef` lists are owned by each element.
        unsafe {
            while !node.is_null() && (*node).type_ == XML_ELEMENT_NODE {
                let mut ns = (*node).nsDef;
                while !ns.is_null() {
                    let prefix = xml_str((*ns).prefix);
                    if !seen.iter().any(|(p, _)| *p == prefix) {
                        seen.push((prefix, xml_str((*ns).href)));
                    }
                    ns = (*ns).next;
                }
                node = (*node).parent;
            }
        }
        seen
    }
}

/// An attribute read from an [`Element`].
pub struct Attribute<'a> {
    /// Local name.
    pub name: &'a str,
    /// Namespace URI, "" for none.
    pub namespace: &'a str,
    /// Value with character references resolved.
    pub value: Cow<'a, str>,
}

/// Concatenates the text of `first` and its siblings (and, when `deep`, of their descendants).
/// One text node (the usual case) is borrowed, never copied.
///
/// # Safety
/// `first` is null or a live node whose siblings and descendants outlive `'a`.
unsafe fn concat_text<'a>(first: *mut XmlNode, deep: bool) -> Cow<'a, str> {
    let mut out: Cow<'a, str> = Cow::Borrowed("");
    if first.is_null() {
        return out;
    }
    // Document order through parent pointers (no stack to allocate), never above `stop`.
    // SAFETY: guaranteed by the caller.
    let stop = unsafe { (*first).parent };
    let mut node = first;
    // SAFETY: for the whole loop, guaranteed by the caller for the whole sibling/descendant set.
    unsafe {
        loop {
            let kind = (*node).type_;
            if kind == XML_TEXT_NODE || kind == XML_CDATA_SECTION_NODE {
                let piece = xml_str((*node).content);
                if out.is_empty() {
                    out = Cow::Borrowed(piece);
                } else if !piece.is_empty() {
                    out.to_mut().push_str(piece);
                }
            } else if deep && kind == XML_ELEMENT_NODE && !(*node).children.is_null() {
                node = (*node).children;
                continue;
            }
            while (*node).next.is_null() {
                node = (*node).parent;
                if node.is_null() || node == stop {
                    return out;
                }
            }
            node = (*node).next;
        }
    }
}

/// Iterator over child elements.
pub struct Children<'a> {
    next: *mut XmlNode,
    _doc: PhantomData<&'a XmlDocument>,
}

impl<'a> Iterator for Children<'a> {
    type Item = Element<'a>;
    fn next(&mut self) -> Option<Element<'a>> {
        while !self.next.is_null() {
            let node = self.next;
            // SAFETY: `node` is a live sibling in the borrowed document.
            unsafe {
                self.next = (*node).next;
                if (*node).type_ == XML_ELEMENT_NODE {
                    return Some(Element {
                        ptr: node,
                        _doc: PhantomData,
                    });
                }
            }
        }
        None
    }
}

/// Iterator over descendant elements in document order.
pub struct Descendants<'a> {
    root: *mut XmlNode,
    next: Option<Element<'a>>,
    _doc: PhantomData<&'a XmlDocument>,
}

impl<'a> Iterator for Descendants<'a> {
    type Item = Element<'a>;
    fn next(&mut self) -> Option<Element<'a>> {
        let current = self.next?;
        self.next = current.children().next().or_else(|| {
            let mut node = current;
            loop {
                if let Some(sibling) = next_element_sibling(node) {
                    return Some(sibling);
                }
                node = node.parent()?;
                if ptr::eq(node.ptr, self.root) {
                    return None;
                }
            }
        });
        Some(current)
    }
}

fn next_element_sibling(element: Element<'_>) -> Option<Element<'_>> {
    // SAFETY: `next` is null or a sibling in the same live document.
    let next = unsafe { (*element.ptr).next };
    Children {
        next,
        _doc: PhantomData,
    }
    .next()
}

/// Whether `text` is an `xs:ID`, i.e. an XML NCName (XML 1.0 fifth edition `Name` without
/// `:`): a letter or `_` first (not a digit, `-` or `.`), then name characters.
pub fn is_ncname(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// XML 1.0 `NameStartChar` without `:`.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar` without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Escapes `text` for XML (and HTML) element content and double- or single-quoted attribute
/// values: `&`, `<`, `>`, `"` and `'` become references (`'` as `&#39;`, which XML and every
/// HTML version read). The one escape of the documents fedbridge writes by hand.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_skips_comments_and_keeps_reading() {
        let doc = parse(b"<a>ross@<!-- c -->octolabs.io<?pi x?>.x<b>y</b></a>", 1000).unwrap();
        assert_eq!(doc.root().unwrap().text(), "ross@octolabs.io.xy");
    }

    #[test]
    fn refuses_any_nul_byte_before_parsing() {
        // libxml2 would stop at the NUL and accept the document before it.
        let trailing = b"<a>x</a>\0<garbage/>";
        assert_eq!(parse(trailing, 1000).err(), Some(XmlError::NulByte));
        assert_eq!(parse(b"<a>x\0y</a>", 1000).err(), Some(XmlError::NulByte));
        // UTF-16 has NUL bytes in every ASCII character: refused too.
        let utf16: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parse(&utf16, 1000).err(), Some(XmlError::NulByte));
        assert!(parse(b"<a>x</a>", 1000).is_ok());
    }

    #[test]
    fn ncnames() {
        for good in [
            "_abc",
            "id-1",
            "ID_4f.x",
            "a",
            "\u{e9}t\u{e9}",
            "pfx41d8ef22",
        ] {
            assert!(is_ncname(good), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "-a",
            ".a",
            "a:b",
            "a b",
            "a\u{202e}b",
            " a",
            "#x",
        ] {
            assert!(!is_ncname(bad), "{bad:?}");
        }
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
        assert_eq!(parse(xxe, 1000).err(), Some(XmlError::DtdForbidden));
    }

    #[test]
    fn refuses_utf16_doctype_before_parsing() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(parse(&le, 10_000).err(), Some(XmlError::DtdForbidden));
        assert_eq!(parse(&be, 10_000).err(), Some(XmlError::DtdForbidden));
    }

    #[test]
    fn external_entities_are_never_loaded_even_if_a_dtd_reaches_libxml2() {
        // Bypass the byte pre-check on purpose, and even ask libxml2 to load the external
        // subset and substitute entities (XML_PARSE_DTDLOAD | XML_PARSE_NOENT, which `parse`
        // never sets): the loader must still refuse.
        let dir = std::env::temp_dir().join(format!("fedbridge-xxe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dtd = dir.join("evil.dtd");
        std::fs::write(&dtd, "<!ENTITY secret \"LEAKED\">").unwrap();
        let doc = format!(
            "<!DOCTYPE a SYSTEM \"file://{}\"><a>&secret;</a>",
            dtd.display()
        );
        let options =
            ffi::XML_PARSE_DTDLOAD | ffi::XML_PARSE_NOENT | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
        let parsed = parse_with_options(doc.as_bytes(), options, usize::MAX);
        let leaked = parsed.is_ok_and(|(d, _)| {
            // SAFETY: `d` is a live document; `extSubset` is only compared with null.
            let loaded = unsafe { !(*d.doc_ptr()).extSubset.is_null() };
            loaded || d.root().is_some_and(|r| r.text().contains("LEAKED"))
        });
        std::fs::remove_dir_all(&dir).ok();
        assert!(!leaked, "the external DTD was loaded");
    }

    #[test]
    fn nesting_past_libxml2_limit_is_too_deep() {
        let deep = "<a>".repeat(300) + &"</a>".repeat(300);
        assert_eq!(
            parse(deep.as_bytes(), 100_000).err(),
            Some(XmlError::TooDeep)
        );
    }

    #[test]
    fn refuses_deep_nesting_and_size() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes(), 10_000).err(),
            Some(XmlError::TooDeep)
        );
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes(), 10_000).is_ok());
        assert!(matches!(parse(b"<a/>", 3), Err(XmlError::TooLarge { .. })));
    }

    #[test]
    fn refuses_two_roots_and_garbage() {
        assert!(matches!(
            parse(b"<a/><b/>", 100),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse(b"<a>", 100), Err(XmlError::Malformed(_))));
        assert_eq!(parse(b"  \n", 100).err(), Some(XmlError::Empty));
    }

    #[test]
    fn refuses_namespace_errors_that_libxml2_recovers_from() {
        let undeclared = parse(
            b"<saml:Assertion><saml:Issuer>x</saml:Issuer></saml:Assertion>",
            1000,
        );
        assert!(
            matches!(undeclared, Err(XmlError::Malformed(_))),
            "{:?}",
            undeclared.err()
        );
        let bad_attr = parse(br#"<a xmlns="urn:x" ::foo="bar"/>"#, 1000);
        assert!(
            matches!(bad_attr, Err(XmlError::Malformed(_))),
            "{:?}",
            bad_attr.err()
        );
    }

    #[test]
    fn descendants_in_document_order() {
        let doc = parse(b"<r><a><b/><c/></a><d/></r>", 100).unwrap();
        let names: Vec<_> = doc
            .root()
            .unwrap()
            .descendants()
            .map(|e| e.local_name())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }
}
