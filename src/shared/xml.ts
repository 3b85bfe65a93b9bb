/**
 * The little XML the Route 53 REST-XML API needs: documents of elements and text (no DTDs, no processing instructions
 * besides the declaration, no mixed content that matters), parsed into a tree, and built with escaped text.
 * Attributes are kept (xmlns) but never interpreted beyond that.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content directly inside this element (entities decoded). */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const v = ENTITIES[ref];
    if (v === undefined) throw new Error(`unknown XML entity &${ref};`);
    return v;
  });
}

/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);
}

/** Parses one XML document into its root element; throws on malformed input. */
export function parseXml(input: string): XmlElement {
  let i = 0;
  const s = input.replace(/^\uFEFF/, "");
  const skipMisc = () => {
    for (;;) {
      while (i < s.length && /\s/.test(s[i] as string)) i++;
      if (s.startsWith("<?", i)) {
        const end = s.indexOf("?>", i);
        if (end < 0) throw new Error("unterminated XML declaration");
        i = end + 2;
      } else if (s.startsWith("<!--", i)) {
        const end = s.indexOf("-->", i);
        if (end < 0) throw new Error("unterminated XML comment");
        i = end + 3;
      } else return;
    }
  };
  const element = (): XmlElement => {
    const open = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(s.slice(i));
    if (!open) throw new Error(`expected an element at offset ${i}`);
    i += open[0].length;
    const el: XmlElement = { name: open[1] as string, attributes: {}, children: [], text: "" };
    for (const a of (open[2] ?? "").matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      el.attributes[a[1] as string] = decode(a[2] ?? a[3] ?? "");
    }
    if (open[3] === "/") return el;
    for (;;) {
      const lt = s.indexOf("<", i);
      if (lt < 0) throw new Error(`unterminated element <${el.name}>`);
      el.text += decode(s.slice(i, lt));
      i = lt;
      if (s.startsWith("</", i)) {
        const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(s.slice(i));
        if (!close || close[1] !== el.name) throw new Error(`expected </${el.name}> at offset ${i}`);
        i += close[0].length;
        return el;
      }
      if (s.startsWith("<!--", i)) {
        const end = s.indexOf("-->", i);
        if (end < 0) throw new Error("unterminated XML comment");
        i = end + 3;
        continue;
      }
      if (s.startsWith("<![CDATA[", i)) {
        const end = s.indexOf("]]>", i);
        if (end < 0) throw new Error("unterminated CDATA section");
        el.text += s.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== s.length) throw new Error("content after the XML root element");
  return root;
}

/** The first child element named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** The children named `name`. */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el?.children.filter((c) => c.name === name) ?? [];
}

/** Text of the first child named `name` (trimmed), if present. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}

/** A tree to serialise: element name -> text, nested object, or a list of repeated elements. */
export type XmlNode = string | number | boolean | { [name: string]: XmlNode | XmlNode[] };

/** Serialises `{ Root: {...} }` to an XML document; arrays repeat the element; `xmlns` goes on the root. */
export function buildXml(rootName: string, body: { [name: string]: XmlNode | XmlNode[] }, xmlns?: string): string {
  const render = (name: string, node: XmlNode): string => {
    if (typeof node !== "object") return `<${name}>${escapeXml(String(node))}</${name}>`;
    const inner = Object.entries(node)
      .map(([k, v]) => (Array.isArray(v) ? v.map((item) => render(k, item)).join("") : render(k, v)))
      .join("");
    return `<${name}>${inner}</${name}>`;
  };
  const root = render(rootName, body);
  const withNs = xmlns ? root.replace(`<${rootName}>`, `<${rootName} xmlns="${escapeXml(xmlns)}">`) : root;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${withNs}`;
}
