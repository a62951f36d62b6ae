use proptest::prelude::*;

use super::super::{Mode, with_libxml2};
use super::{canonicalize, plain_namespace_uri};
use crate::saml::xml::{Element, XmlDocument, parse};

/// The Rust output, after checking that libxml2 gives the same bytes.
fn both(
    doc: &XmlDocument,
    apex: Element<'_>,
    excluded: Option<Element<'_>>,
    prefixes: &[&str],
) -> String {
    let rust =
        canonicalize(doc, apex, excluded, prefixes).expect("the Rust path handles this input");
    let libxml2 = with_libxml2(doc, apex, excluded, Mode::Exclusive, prefixes, false);
    assert_eq!(libxml2.as_deref(), Ok(&rust[..]), "Rust and libxml2 differ");
    String::from_utf8(rust).unwrap()
}

fn first_child(element: Element<'_>) -> Element<'_> {
    element.children().next().unwrap()
}

#[test]
fn renders_only_visibly_utilized_namespaces_sorted() {
    let doc = parse(
        br#"<r xmlns:z="urn:z" xmlns:a="urn:a" xmlns:u="urn:unused"><z:x a:q="1" p="2" xmlns="urn:d"><y/></z:x></r>"#,
        1000,
    )
    .unwrap();
    let x = first_child(doc.root().unwrap());
    assert_eq!(
        both(&doc, x, None, &[]),
        r#"<z:x xmlns:a="urn:a" xmlns:z="urn:z" p="2" a:q="1"><y xmlns="urn:d"></y></z:x>"#
    );
}

#[test]
fn undeclares_the_default_namespace_only_where_an_output_ancestor_rendered_one() {
    let doc = parse(
        br#"<r xmlns="urn:d"><a><b xmlns=""><c/></b></a><e xmlns=""/></r>"#,
        1000,
    )
    .unwrap();
    let root = doc.root().unwrap();
    assert_eq!(
        both(&doc, root, None, &[]),
        r#"<r xmlns="urn:d"><a><b xmlns=""><c></c></b></a><e xmlns=""></e></r>"#
    );
    // With the apex below the default declaration, nothing was rendered: no xmlns="".
    let b = first_child(first_child(root));
    assert_eq!(both(&doc, b, None, &[]), "<b><c></c></b>");
}

#[test]
fn prefix_list_renders_in_scope_namespaces_once() {
    let doc = parse(
        br#"<r xmlns:xs="urn:xs" xmlns:xsi="urn:xsi"><x t="xs:string"><y xmlns:xs="urn:other"><z/></y></x></r>"#,
        1000,
    )
    .unwrap();
    let x = first_child(doc.root().unwrap());
    assert_eq!(
        both(&doc, x, None, &["xs", "xsi", "xs", "missing"]),
        r#"<x xmlns:xs="urn:xs" xmlns:xsi="urn:xsi" t="xs:string"><y xmlns:xs="urn:other"><z></z></y></x>"#
    );
    assert_eq!(
        both(&doc, x, None, &[]),
        r#"<x t="xs:string"><y><z></z></y></x>"#
    );
}

#[test]
fn leaves_out_the_excluded_subtree_and_comments() {
    let doc = parse(
        br#"<a:x xmlns:a="urn:a" ID="i"><a:sig><a:v>s</a:v></a:sig><!-- c -->t<y/></a:x>"#,
        1000,
    )
    .unwrap();
    let x = doc.root().unwrap();
    let sig = first_child(x);
    assert_eq!(
        both(&doc, x, Some(sig), &[]),
        r#"<a:x xmlns:a="urn:a" ID="i">t<y></y></a:x>"#
    );
}

#[test]
fn escapes_text_and_attributes_as_c14n_does() {
    let doc = parse(
        b"<x a=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13;\xc3\xa9\">&amp;&lt;&gt;\"'&#13;\t\n<![CDATA[<&]]>\xc3\xa9</x>",
        1000,
    )
    .unwrap();
    assert_eq!(
        both(&doc, doc.root().unwrap(), None, &[]),
        "<x a=\"&amp;&lt;>&quot;'&#x9;&#xA;&#xD;\u{e9}\">&amp;&lt;&gt;\"'&#xD;\t\n&lt;&amp;\u{e9}</x>"
    );
}

#[test]
fn orders_attributes_unqualified_first_then_by_namespace_uri() {
    let doc = parse(
        br#"<x xmlns:b="urn:a" xmlns:a="urn:b" a:z="1" b:y="2" xml:lang="en" c="3" b="4"/>"#,
        1000,
    )
    .unwrap();
    assert_eq!(
        both(&doc, doc.root().unwrap(), None, &[]),
        r#"<x xmlns:a="urn:b" xmlns:b="urn:a" b="4" c="3" xml:lang="en" b:y="2" a:z="1"></x>"#
    );
}

#[test]
fn leaves_unusual_inputs_to_libxml2() {
    let cases: [(&[u8], &[&str]); 6] = [
        (br#"<x xmlns:p="relative"><y/></x>"#, &[]),
        (br#"<r><x/><o xmlns:p="relative"/></r>"#, &[]),
        (br#"<x xmlns:p="urn:a&amp;b"/>"#, &[]),
        (br#"<x xmlns:p="http://host:80/"/>"#, &[]),
        (br#"<x><?pi data?></x>"#, &[]),
        (br#"<x xmlns="urn:d"/>"#, &["#default"]),
    ];
    for (xml, prefixes) in cases {
        let doc = parse(xml, 1000).unwrap();
        let root = doc.root().unwrap();
        let apex = root.children().next().unwrap_or(root);
        assert_eq!(
            canonicalize(&doc, apex, None, prefixes),
            None,
            "{}",
            String::from_utf8_lossy(xml)
        );
    }
    // The apex itself excluded: nothing to render, which libxml2 reports as an error.
    let doc = parse(b"<x/>", 100).unwrap();
    let x = doc.root().unwrap();
    assert_eq!(canonicalize(&doc, x, Some(x), &[]), None);
}

#[test]
fn plain_namespace_uris_are_the_common_absolute_shapes() {
    for uri in [
        "urn:oasis:names:tc:SAML:2.0:assertion",
        "http://www.w3.org/2000/09/xmldsig#",
        "http://www.w3.org/2001/XMLSchema-instance",
        "https://example.com",
        "https://example.com/a/b?c=d/e?f#g/h?i",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    ] {
        assert!(plain_namespace_uri(uri.as_bytes()), "{uri}");
    }
    for uri in [
        "relative",
        "urn:",
        "urn://x",
        "ftp://example.com/",
        "http://",
        "http://1.2.3.4/",
        "http://host:8080/",
        "http://user@host/",
        "http://host/a#b#c",
        "http://host/a b",
        "http://host/%41",
        "urn:a&b",
        "urn:a'b",
        "urn:a\"b",
        "urn:\u{e9}",
        "HTTP://example.com/",
    ] {
        assert!(!plain_namespace_uri(uri.as_bytes()), "{uri}");
    }
}

// ---- Random documents: the Rust path must agree with libxml2 on every element of each. ----

/// A namespace pool: (prefix, URI); prefix "" is the default namespace, URI "" undeclares it.
const BINDINGS: [(&str, &str); 10] = [
    ("", "urn:d1"),
    ("", "http://example.com/d2"),
    ("", ""),
    ("a", "urn:a1"),
    ("a", "urn:a2"),
    ("b", "http://example.com/b#x"),
    ("b", "urn:a1"),
    ("c", "urn:c"),
    ("a", "relative"),
    ("c", "urn:x&amp;y"),
];
const PREFIXES: [&str; 4] = ["", "a", "b", "c"];
const NAMES: [&str; 4] = ["n", "m", "ID", "lang"];
const TEXTS: [&str; 8] = [
    "t",
    " \n\t ",
    "&amp;&lt;&gt;\"'",
    "&#13;&#10;&#9;",
    "\u{e9}\u{1F600}",
    "<![CDATA[<&>]]>",
    "<!-- c -->",
    "<?pi d?>",
];

#[derive(Debug, Clone)]
struct Node {
    prefix: usize,
    declarations: Vec<usize>,
    /// (prefix index, or 4 for `xml:`; name index; text index)
    attributes: Vec<(usize, usize, usize)>,
    children: Vec<Child>,
}

#[derive(Debug, Clone)]
enum Child {
    Element(Node),
    Text(usize),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (
        0..PREFIXES.len(),
        prop::collection::vec(0..BINDINGS.len(), 0..3),
        prop::collection::vec((0..5usize, 0..NAMES.len(), 0..4usize), 0..3),
    )
        .prop_map(|(prefix, declarations, attributes)| Node {
            prefix,
            declarations,
            attributes,
            children: Vec::new(),
        });
    leaf.prop_recursive(4, 24, 4, |inner| {
        (
            0..PREFIXES.len(),
            prop::collection::vec(0..BINDINGS.len(), 0..3),
            prop::collection::vec((0..5usize, 0..NAMES.len(), 0..4usize), 0..3),
            prop::collection::vec(
                prop_oneof![
                    inner.prop_map(Child::Element),
                    (0..TEXTS.len()).prop_map(Child::Text)
                ],
                0..4,
            ),
        )
            .prop_map(|(prefix, declarations, attributes, children)| Node {
                prefix,
                declarations,
                attributes,
                children,
            })
    })
}

fn render(node: &Node, out: &mut String) {
    let name = |prefix: &str, local: &str| {
        if prefix.is_empty() {
            local.to_string()
        } else {
            format!("{prefix}:{local}")
        }
    };
    let tag = name(PREFIXES[node.prefix], "e");
    out.push('<');
    out.push_str(&tag);
    for &d in &node.declarations {
        let (prefix, uri) = BINDINGS[d];
        if prefix.is_empty() {
            out.push_str(&format!(" xmlns=\"{uri}\""));
        } else {
            out.push_str(&format!(" xmlns:{prefix}=\"{uri}\""));
        }
    }
    for &(prefix, local, text) in &node.attributes {
        let prefix = if prefix == 4 { "xml" } else { PREFIXES[prefix] };
        out.push_str(&format!(
            " {}=\"{}\"",
            name(prefix, NAMES[local]),
            TEXTS[text].replace('"', "&quot;")
        ));
    }
    out.push('>');
    for child in &node.children {
        match child {
            Child::Element(e) => render(e, out),
            Child::Text(t) => out.push_str(TEXTS[*t]),
        }
    }
    out.push_str(&format!("</{tag}>"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_libxml2_on_random_documents(
        root in node(),
        prefix_list in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c"), Just("xml")], 0..3),
    ) {
        // Every prefix bound at the root, so that most documents are namespace well-formed.
        let mut xml = String::from(r#"<root xmlns:a="urn:a0" xmlns:b="urn:b0" xmlns:c="urn:c0">"#);
        render(&root, &mut xml);
        xml.push_str("</root>");
        let Ok(doc) = parse(xml.as_bytes(), 1 << 20) else {
            return Ok(());
        };
        let top = doc.root().unwrap();
        for apex in std::iter::once(top).chain(top.descendants()) {
            for excluded in [None, apex.children().next(), apex.descendants().last()] {
                let rust = canonicalize(&doc, apex, excluded, &prefix_list);
                if let Some(rust) = rust {
                    let libxml2 = with_libxml2(&doc, apex, excluded, Mode::Exclusive, &prefix_list, false);
                    prop_assert_eq!(
                        libxml2.as_deref().map(String::from_utf8_lossy),
                        Ok(String::from_utf8_lossy(&rust)),
                        "document {}, apex {:?}, excluded {:?}, prefixes {:?}",
                        xml, apex, excluded, prefix_list
                    );
                }
            }
        }
    }
}
