// The part of libxml2's C API that fedbridge calls, in one table: read by `ffi.rs` (which turns
// it into Rust declarations and asserts the offsets and sizes below with `offset_of!`/`size_of`)
// and by `build.rs` (which turns the same table into a C file of `_Static_assert`s compiled
// against the libxml2 headers pkg-config finds). So the numbers the Rust code relies on are the
// numbers checked against the headers, and neither side can drift from the other.
//
// Layouts are libxml2 2.9's public headers (Debian 12: 2.9.14) on 64-bit Linux. Every field of
// each struct is declared, in header order, so the sizes are checked too. Function and callback
// prototypes carry their C type side by side with the Rust one; build.rs checks the C type with
// `__builtin_types_compatible_p` against the header's declaration.
libxml2_api! {
    headers = [
        "libxml/xmlversion.h",
        "libxml/parser.h",
        "libxml/tree.h",
        "libxml/xmlerror.h",
        "libxml/xmlIO.h",
        "libxml/c14n.h",
    ];

    // C enums that the Rust side reads as `c_int`.
    enums {
        "xmlElementType",
        "xmlNsType",
        "xmlAttributeType",
        "xmlErrorLevel",
    }

    structs {
        /// `xmlNs`: a namespace declaration (`nsDef`) or the namespace of a node (`ns`).
        XmlNs = "xmlNs", size 48 {
            /// The next declaration on the same element.
            next: *mut XmlNs = "next" @ 0,
            /// `XML_NAMESPACE_DECL`.
            type_: c_int = "type" @ 8,
            /// The namespace URI.
            href: *const u8 = "href" @ 16,
            /// The prefix, null for the default namespace.
            prefix: *const u8 = "prefix" @ 24,
            /// Application data (unused).
            _private: *mut c_void = "_private" @ 32,
            /// The document (unused).
            context: *mut XmlDoc = "context" @ 40,
        }

        /// `xmlAttr`: an attribute; its value is its text children.
        XmlAttr = "xmlAttr", size 96 {
            /// Application data (unused).
            _private: *mut c_void = "_private" @ 0,
            /// `XML_ATTRIBUTE_NODE`.
            type_: c_int = "type" @ 8,
            /// The local name.
            name: *const u8 = "name" @ 16,
            /// The value, as text (and entity reference) nodes.
            children: *mut XmlNode = "children" @ 24,
            /// The last value node.
            last: *mut XmlNode = "last" @ 32,
            /// The element.
            parent: *mut XmlNode = "parent" @ 40,
            /// The next attribute of the element.
            next: *mut XmlAttr = "next" @ 48,
            /// The previous attribute.
            prev: *mut XmlAttr = "prev" @ 56,
            /// The document.
            doc: *mut XmlDoc = "doc" @ 64,
            /// The namespace, null for none.
            ns: *mut XmlNs = "ns" @ 72,
            /// The DTD attribute type (unused: no DTD is ever loaded).
            atype: c_int = "atype" @ 80,
            /// Schema data (unused).
            psvi: *mut c_void = "psvi" @ 88,
        }

        /// `xmlNode`: an element, text, CDATA, comment, PI, entity reference or DTD node.
        XmlNode = "xmlNode", size 120 {
            /// Application data (unused).
            _private: *mut c_void = "_private" @ 0,
            /// The kind of node (`XML_*_NODE`).
            type_: c_int = "type" @ 8,
            /// The local name of an element.
            name: *const u8 = "name" @ 16,
            /// The first child.
            children: *mut XmlNode = "children" @ 24,
            /// The last child.
            last: *mut XmlNode = "last" @ 32,
            /// The parent (the document for the root element).
            parent: *mut XmlNode = "parent" @ 40,
            /// The next sibling.
            next: *mut XmlNode = "next" @ 48,
            /// The previous sibling.
            prev: *mut XmlNode = "prev" @ 56,
            /// The document.
            doc: *mut XmlDoc = "doc" @ 64,
            /// The element's namespace, null for none.
            ns: *mut XmlNs = "ns" @ 72,
            /// The text of a text or CDATA node.
            content: *mut u8 = "content" @ 80,
            /// The first attribute of an element.
            properties: *mut XmlAttr = "properties" @ 88,
            /// The namespace declarations on this element.
            nsDef: *mut XmlNs = "nsDef" @ 96,
            /// Schema data (unused).
            psvi: *mut c_void = "psvi" @ 104,
            /// The line number.
            line: u16 = "line" @ 112,
            /// XPath/XSLT data (unused).
            extra: u16 = "extra" @ 114,
        }

        /// `xmlDoc`: a parsed document.
        XmlDoc = "xmlDoc", size 176 {
            /// Application data (unused).
            _private: *mut c_void = "_private" @ 0,
            /// `XML_DOCUMENT_NODE`.
            type_: c_int = "type" @ 8,
            /// The document's name (unused).
            name: *mut c_char = "name" @ 16,
            /// The top-level nodes: the root element, comments, PIs, a DTD node.
            children: *mut XmlNode = "children" @ 24,
            /// The last top-level node.
            last: *mut XmlNode = "last" @ 32,
            /// Always null.
            parent: *mut XmlNode = "parent" @ 40,
            /// Always null.
            next: *mut XmlNode = "next" @ 48,
            /// Always null.
            prev: *mut XmlNode = "prev" @ 56,
            /// The document itself.
            doc: *mut XmlDoc = "doc" @ 64,
            /// zlib compression level (unused).
            compression: c_int = "compression" @ 72,
            /// The standalone declaration (unused).
            standalone: c_int = "standalone" @ 76,
            /// The internal DTD subset, null when there is none.
            intSubset: *mut XmlDtd = "intSubset" @ 80,
            /// The external DTD subset, null when there is none.
            extSubset: *mut XmlDtd = "extSubset" @ 88,
            /// Old-style global namespace (unused).
            oldNs: *mut XmlNs = "oldNs" @ 96,
            /// The XML version (unused).
            version: *const u8 = "version" @ 104,
            /// The declared encoding (unused).
            encoding: *const u8 = "encoding" @ 112,
            /// ID hash table (unused).
            ids: *mut c_void = "ids" @ 120,
            /// IDREF hash table (unused).
            refs: *mut c_void = "refs" @ 128,
            /// The document URI (unused).
            URL: *const u8 = "URL" @ 136,
            /// Internal charset flag (unused).
            charset: c_int = "charset" @ 144,
            /// The string dictionary (unused).
            dict: *mut c_void = "dict" @ 152,
            /// Schema data (unused).
            psvi: *mut c_void = "psvi" @ 160,
            /// The parser options used (unused).
            parseFlags: c_int = "parseFlags" @ 168,
            /// Document properties (unused).
            properties: c_int = "properties" @ 172,
        }

        /// `xmlError`: one diagnostic, as handed to a structured error handler.
        XmlError = "xmlError", size 88 {
            /// The library module that reported it (unused).
            domain: c_int = "domain" @ 0,
            /// The error code (unused).
            code: c_int = "code" @ 4,
            /// The message, with a trailing newline; may be null.
            message: *mut c_char = "message" @ 8,
            /// `XML_ERR_WARNING`, `XML_ERR_ERROR` or `XML_ERR_FATAL`.
            level: c_int = "level" @ 16,
            /// The file name (unused).
            file: *mut c_char = "file" @ 24,
            /// The line (unused).
            line: c_int = "line" @ 32,
            /// Extra information (unused).
            str1: *mut c_char = "str1" @ 40,
            /// Extra information (unused).
            str2: *mut c_char = "str2" @ 48,
            /// Extra information (unused).
            str3: *mut c_char = "str3" @ 56,
            /// Extra information (unused).
            int1: c_int = "int1" @ 64,
            /// The column (unused).
            int2: c_int = "int2" @ 68,
            /// The parser context (unused).
            ctxt: *mut c_void = "ctxt" @ 72,
            /// The node (unused).
            node: *mut c_void = "node" @ 80,
        }
    }

    // Structs only ever handled through pointers.
    opaque {
        /// `xmlDtd`, only compared with null.
        XmlDtd,
        /// `xmlParserCtxt`, a parser context.
        XmlParserCtxt,
        /// `xmlParserInput`, what an entity loader returns.
        XmlParserInput,
        /// `xmlOutputBuffer`, where C14N writes.
        XmlOutputBuffer,
        /// `xmlCharEncodingHandler`, never passed (null: UTF-8 output).
        XmlCharEncodingHandler,
    }

    constants {
        /// `xmlElementType`: an element.
        XML_ELEMENT_NODE: c_int = 1,
        /// `xmlElementType`: a text node.
        XML_TEXT_NODE: c_int = 3,
        /// `xmlElementType`: a CDATA section.
        XML_CDATA_SECTION_NODE: c_int = 4,
        /// `xmlElementType`: an entity reference.
        XML_ENTITY_REF_NODE: c_int = 5,
        /// `xmlElementType`: a comment.
        XML_COMMENT_NODE: c_int = 8,
        /// `xmlElementType`: a DTD.
        XML_DTD_NODE: c_int = 14,
        /// `xmlElementType`: a namespace node (as the C14N callback sees one).
        XML_NAMESPACE_DECL: c_int = 18,
        /// `xmlErrorLevel`: a recoverable error (namespace errors among them).
        XML_ERR_ERROR: c_int = 2,
        /// `xmlErrorLevel`: a fatal error.
        XML_ERR_FATAL: c_int = 3,
        /// `xmlParserOption`: substitute entities (only a test asks for it).
        #[cfg(test)]
        XML_PARSE_NOENT: c_int = 2,
        /// `xmlParserOption`: load the external DTD subset (only a test asks for it).
        #[cfg(test)]
        XML_PARSE_DTDLOAD: c_int = 4,
        /// `xmlParserOption`: no error reports on stderr (the structured handler still gets them).
        XML_PARSE_NOERROR: c_int = 32,
        /// `xmlParserOption`: no warning reports on stderr.
        XML_PARSE_NOWARNING: c_int = 64,
        /// `xmlParserOption`: no network access.
        XML_PARSE_NONET: c_int = 2048,
        /// `xmlParserOption`: text shorter than two pointers is stored inside its node (no
        /// allocation); the tree is read-only anyway.
        XML_PARSE_COMPACT: c_int = 65536,
        /// `xmlC14NMode`: Canonical XML 1.0 (inclusive).
        XML_C14N_1_0: c_int = 0,
        /// `xmlC14NMode`: Exclusive XML Canonicalization 1.0.
        XML_C14N_EXCLUSIVE_1_0: c_int = 1,
        /// `xmlC14NMode`: Canonical XML 1.1 (inclusive).
        XML_C14N_1_1: c_int = 2,
    }

    callbacks {
        /// `xmlExternalEntityLoader`.
        XmlExternalEntityLoader = "xmlExternalEntityLoader"
            as "xmlParserInputPtr (*)(const char *, const char *, xmlParserCtxtPtr)":
            unsafe extern "C" fn(*const c_char, *const c_char, *mut XmlParserCtxt) -> *mut XmlParserInput,
        /// `xmlStructuredErrorFunc`.
        XmlStructuredErrorFunc = "xmlStructuredErrorFunc"
            as "void (*)(void *, xmlErrorPtr)":
            unsafe extern "C" fn(*mut c_void, *mut XmlError),
        /// `xmlOutputWriteCallback`.
        XmlOutputWriteCallback = "xmlOutputWriteCallback"
            as "int (*)(void *, const char *, int)":
            unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int,
        /// `xmlOutputCloseCallback`.
        XmlOutputCloseCallback = "xmlOutputCloseCallback"
            as "int (*)(void *)":
            unsafe extern "C" fn(*mut c_void) -> c_int,
        /// `xmlC14NIsVisibleCallback`.
        XmlC14NIsVisibleCallback = "xmlC14NIsVisibleCallback"
            as "int (*)(void *, xmlNodePtr, xmlNodePtr)":
            unsafe extern "C" fn(*mut c_void, *mut XmlNode, *mut XmlNode) -> c_int,
    }

    functions {
        /// Initialises libxml2's global state; call once before the first parse.
        fn xmlInitParser() as "void (*)(void)";
        /// A new parser context, null when out of memory.
        fn xmlNewParserCtxt() -> *mut XmlParserCtxt as "xmlParserCtxtPtr (*)(void)";
        /// Frees a parser context (not the documents it parsed).
        fn xmlFreeParserCtxt(ctxt: *mut XmlParserCtxt) as "void (*)(xmlParserCtxtPtr)";
        /// Parses `size` bytes at `buffer` with `options`; null when no document came out.
        fn xmlCtxtReadMemory(
            ctxt: *mut XmlParserCtxt,
            buffer: *const c_char,
            size: c_int,
            url: *const c_char,
            encoding: *const c_char,
            options: c_int
        ) -> *mut XmlDoc
            as "xmlDocPtr (*)(xmlParserCtxtPtr, const char *, int, const char *, const char *, int)";
        /// Frees a document and every node of it.
        fn xmlFreeDoc(cur: *mut XmlDoc) as "void (*)(xmlDocPtr)";
        /// The bytes a string dictionary holds (`xmlDoc.dict`, shared with the parser context).
        fn xmlDictGetUsage(dict: *mut c_void) -> usize as "size_t (*)(xmlDictPtr)";
        /// Replaces the process-wide external entity loader.
        fn xmlSetExternalEntityLoader(f: XmlExternalEntityLoader)
            as "void (*)(xmlExternalEntityLoader)";
        /// Sets this thread's structured error handler and its context (null, None: the default).
        fn xmlSetStructuredErrorFunc(ctx: *mut c_void, handler: XmlStructuredErrorFunc)
            as "void (*)(void *, xmlStructuredErrorFunc)";
        /// An output buffer that hands its bytes to `iowrite` with `ioctx`.
        fn xmlOutputBufferCreateIO(
            iowrite: XmlOutputWriteCallback,
            ioclose: XmlOutputCloseCallback,
            ioctx: *mut c_void,
            encoder: *mut XmlCharEncodingHandler
        ) -> *mut XmlOutputBuffer
            as "xmlOutputBufferPtr (*)(xmlOutputWriteCallback, xmlOutputCloseCallback, void *, xmlCharEncodingHandlerPtr)";
        /// Flushes and frees an output buffer; negative on error.
        fn xmlOutputBufferClose(out: *mut XmlOutputBuffer) -> c_int
            as "int (*)(xmlOutputBufferPtr)";
        /// Canonicalizes the nodes `is_visible` accepts into `buf`; negative on error.
        fn xmlC14NExecute(
            doc: *mut XmlDoc,
            is_visible: XmlC14NIsVisibleCallback,
            user_data: *mut c_void,
            mode: c_int,
            inclusive_ns_prefixes: *mut *mut u8,
            with_comments: c_int,
            buf: *mut XmlOutputBuffer
        ) -> c_int
            as "int (*)(xmlDocPtr, xmlC14NIsVisibleCallback, void *, int, xmlChar **, int, xmlOutputBufferPtr)";
    }
}
