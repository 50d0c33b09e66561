//! Image metadata and colour: reading ICC profiles, EXIF and XMP from an input file's bytes,
//! preparing what an output carries (EXIF orientation reset once it is applied, `--strip`),
//! embedding it into encoded bytes, and converting inputs in another ICC profile to sRGB.
//!
//! Everything here works on bytes (a file's bytes in, an encoded file's bytes out), apart from
//! the pixel decoder: the same functions serve whole-image saves and streamed sinks.
//!
//! Formats: PNG (`iCCP`, `eXIf`, `iTXt` — XMP under `XML:com.adobe.xmp`, other text records
//! under their keyword), JPEG (APP2 ICC, APP1 Exif, APP1 XMP), WebP (VP8X with `ICCP`, `EXIF`,
//! `XMP ` chunks) and TIFF (ICC and XMP tags of the first image; its EXIF is not carried).
//! Text records go into a PNG as `iTXt` chunks and into the XMP packet of the other formats,
//! as elements of the `fxchain` namespace ([`XMP_NS`]).

use std::io::Read;
use std::path::Path;

use fxchain_plugin_api::PixelFormat;
use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF, ImageICC};

use crate::error::ImageError;
use crate::frame::Frame;
use crate::io::{ImageLimits, Metadata, OutputFormat};

/// Keyword of the XMP packet in a PNG `iTXt` chunk.
pub const PNG_XMP_KEYWORD: &str = "XML:com.adobe.xmp";
/// Namespace of fxchain's text records inside an XMP packet.
pub const XMP_NS: &str = "urn:fxchain:xmp:1/";
const JPEG_XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The largest XMP packet one JPEG APP1 segment holds.
const JPEG_XMP_MAX: usize = 65533 - JPEG_XMP_PREFIX.len();
const TAG_ORIENTATION: u16 = 0x0112;
const TAG_XMP: u16 = 700;
const TAG_ICC: u16 = 34675;

/// What to do with an input's metadata and colour.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaOptions {
    /// Drop ICC, EXIF and XMP from outputs.
    pub strip: bool,
    /// Keep the pixels in the input's ICC profile (no conversion to sRGB) and tag the output
    /// with that profile.
    pub keep_profile: bool,
}

/// Image containers whose metadata this module reads and writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Container {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
    /// TIFF.
    Tiff,
}

impl Container {
    /// The container of a file's bytes, from its signature.
    pub fn sniff(bytes: &[u8]) -> Option<Container> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Container::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Container::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Container::Webp)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Container::Tiff)
        } else {
            None
        }
    }

    /// The container of an output format.
    pub fn of(format: OutputFormat) -> Container {
        match format {
            OutputFormat::Png => Container::Png,
            OutputFormat::Jpeg(_) => Container::Jpeg,
            OutputFormat::Webp => Container::Webp,
            OutputFormat::Tiff => Container::Tiff,
        }
    }
}

/// Reads the ICC profile, EXIF block, XMP packet and (PNG) text records of an image file's
/// bytes. Unknown formats and damaged metadata give what could be read; the pixel decoder
/// reports a damaged image.
pub fn read(bytes: &[u8]) -> Metadata {
    let mut m = match Container::sniff(bytes) {
        Some(Container::Png) => Png::from_bytes(Bytes::copy_from_slice(bytes)).map(|p| read_png(&p)).ok(),
        Some(Container::Jpeg) => Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map(|j| read_jpeg(&j)).ok(),
        Some(Container::Webp) => WebP::from_bytes(Bytes::copy_from_slice(bytes)).map(|w| read_webp(&w)).ok(),
        Some(Container::Tiff) => Some(read_tiff(bytes)),
        None => None,
    }
    .unwrap_or_default();
    if let Some(e) = &m.exif {
        // Some writers keep the `Exif\0\0` prefix of the JPEG segment.
        if let Some(rest) = e.strip_prefix(b"Exif\0\0") {
            m.exif = Some(rest.to_vec());
        }
    }
    if m.icc.as_ref().is_some_and(|i| i.is_empty()) {
        m.icc = None;
    }
    m
}

fn read_png(p: &Png) -> Metadata {
    let mut m =
        Metadata { icc: p.icc_profile().map(|b| b.to_vec()), exif: p.exif().map(|b| b.to_vec()), ..Default::default() };
    for c in p.chunks_by_type(*b"iTXt") {
        if let Some((keyword, text)) = parse_itxt(c.contents()) {
            if keyword == PNG_XMP_KEYWORD {
                m.xmp = Some(text.into_bytes());
            } else {
                m.text.push((keyword, text));
            }
        }
    }
    m
}

fn read_jpeg(j: &Jpeg) -> Metadata {
    let xmp = j
        .segments_by_marker(markers::APP1)
        .find_map(|s| s.contents().strip_prefix(JPEG_XMP_PREFIX).map(|x| x.to_vec()));
    Metadata { icc: j.icc_profile().map(|b| b.to_vec()), exif: j.exif().map(|b| b.to_vec()), xmp, text: Vec::new() }
}

fn read_webp(w: &WebP) -> Metadata {
    let xmp = w.chunk_by_id(*b"XMP ").and_then(|c| c.content().data()).map(|d| d.to_vec());
    Metadata { icc: w.icc_profile().map(|b| b.to_vec()), exif: w.exif().map(|b| b.to_vec()), xmp, text: Vec::new() }
}

fn read_tiff(bytes: &[u8]) -> Metadata {
    let Some(t) = Tiff::parse(bytes) else { return Metadata::default() };
    let field =
        |tag: u16| t.entries.iter().find(|e| e.tag == tag).and_then(|e| t.value_bytes(bytes, e)).map(|b| b.to_vec());
    Metadata { icc: field(TAG_ICC), exif: None, xmp: field(TAG_XMP), text: Vec::new() }
}

/// Reads the metadata of the image file at `path` (see [`read`]).
pub fn read_file(path: &Path) -> std::io::Result<Metadata> {
    Ok(read(&std::fs::read(path)?))
}

/// `keyword` and text of a PNG `iTXt` chunk's contents (zlib-compressed text is inflated).
fn parse_itxt(c: &[u8]) -> Option<(String, String)> {
    let nul = c.iter().position(|&b| b == 0)?;
    let keyword = String::from_utf8(c[..nul].to_vec()).ok()?;
    let rest = c.get(nul + 1..)?;
    let (compressed, method) = (*rest.first()?, *rest.get(1)?);
    let rest = rest.get(2..)?;
    let lang = rest.iter().position(|&b| b == 0)?;
    let rest = rest.get(lang + 1..)?;
    let translated = rest.iter().position(|&b| b == 0)?;
    let data = rest.get(translated + 1..)?;
    let text = if compressed == 1 && method == 0 {
        let mut s = String::new();
        flate2::read::ZlibDecoder::new(data).take(64 << 20).read_to_string(&mut s).ok()?;
        s
    } else if compressed == 0 {
        String::from_utf8(data.to_vec()).ok()?
    } else {
        return None;
    };
    Some((keyword, text))
}

/// The contents of an uncompressed PNG `iTXt` chunk.
pub(crate) fn itxt(keyword: &str, text: &str) -> Vec<u8> {
    let mut c = Vec::with_capacity(keyword.len() + text.len() + 5);
    c.extend_from_slice(keyword.as_bytes());
    c.extend_from_slice(&[0, 0, 0, 0, 0]);
    c.extend_from_slice(text.as_bytes());
    c
}

/// Sets the EXIF orientation (tag 0x0112 of the first IFD) to 1, "top-left", in place: for
/// outputs whose pixels already have the orientation applied. Returns whether the tag was
/// found; a block that is not EXIF is left as it is.
pub fn reset_orientation(exif: &mut [u8]) -> bool {
    let Some(t) = Tiff::parse(exif) else { return false };
    for e in &t.entries {
        if e.tag == TAG_ORIENTATION && e.kind == 3 && e.count >= 1 {
            let v = if t.le { 1u16.to_le_bytes() } else { 1u16.to_be_bytes() };
            exif[e.at + 8..e.at + 10].copy_from_slice(&v);
            return true;
        }
    }
    false
}

/// The EXIF orientation (1..=8) of an EXIF block, if it has one.
pub fn orientation(exif: &[u8]) -> Option<u16> {
    let t = Tiff::parse(exif)?;
    let e = t.entries.iter().find(|e| e.tag == TAG_ORIENTATION && e.kind == 3)?;
    Some(t.u16(&exif[e.at + 8..e.at + 10]))
}

/// What an output carries of its input's metadata: nothing with `strip`; otherwise the input's
/// EXIF with its orientation reset to 1 (the decoder applied it), its XMP, and its ICC profile
/// unless the pixels were converted to sRGB (`converted`: the output is then untagged, which
/// means sRGB). Text records of the input are not carried (an output gets its own).
pub fn for_output(input: &Metadata, options: MetaOptions, converted: bool) -> Metadata {
    if options.strip {
        return Metadata::default();
    }
    let mut exif = input.exif.clone();
    if let Some(e) = exif.as_mut() {
        reset_orientation(e);
    }
    Metadata { icc: if converted { None } else { input.icc.clone() }, exif, xmp: input.xmp.clone(), text: Vec::new() }
}

/// Embeds `meta` into the encoded image `bytes` of `format`, replacing metadata of the same kind
/// already there; returns the new file's bytes. Text records go into `iTXt` chunks (PNG) or the
/// XMP packet (JPEG, WebP, TIFF). TIFF gets the ICC profile and XMP, not EXIF.
pub fn embed(bytes: &[u8], format: OutputFormat, meta: &Metadata) -> Result<Vec<u8>, String> {
    if meta == &Metadata::default() {
        return Ok(bytes.to_vec());
    }
    let container = Container::of(format);
    if Container::sniff(bytes) != Some(container) {
        return Err(format!("cannot add metadata: the encoded data is not {container:?}"));
    }
    let icc = meta.icc.clone().map(Bytes::from);
    let exif = meta.exif.clone().map(Bytes::from);
    match container {
        Container::Png => {
            let mut p = Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("PNG: {e}"))?;
            if icc.is_some() {
                p.set_icc_profile(icc);
            }
            if exif.is_some() {
                p.set_exif(exif);
            }
            let mut records: Vec<(&str, &str)> = meta.text.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let xmp = meta.xmp.as_ref().map(|x| String::from_utf8_lossy(x).into_owned());
            if let Some(x) = &xmp {
                records.push((PNG_XMP_KEYWORD, x));
            }
            let keys: Vec<&str> = records.iter().map(|r| r.0).collect();
            p.chunks_mut().retain(|c| {
                c.kind() != *b"iTXt" || parse_itxt(c.contents()).is_none_or(|(k, _)| !keys.contains(&k.as_str()))
            });
            let at = p.chunks().iter().position(|c| c.kind() == *b"IDAT").unwrap_or(p.chunks().len().min(1));
            for (i, (k, v)) in records.iter().enumerate() {
                p.chunks_mut().insert(at + i, PngChunk::new(*b"iTXt", Bytes::from(itxt(k, v))));
            }
            Ok(p.encoder().bytes().to_vec())
        }
        Container::Jpeg => {
            let mut j = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("JPEG: {e}"))?;
            if icc.is_some() {
                j.set_icc_profile(icc);
            }
            if exif.is_some() {
                j.set_exif(exif);
            }
            if let Some(x) = xmp_with_text(meta) {
                if x.len() > JPEG_XMP_MAX {
                    return Err(format!(
                        "the XMP packet is {} bytes, more than one JPEG segment holds ({JPEG_XMP_MAX})",
                        x.len()
                    ));
                }
                j.segments_mut()
                    .retain(|s| !(s.marker() == markers::APP1 && s.contents().starts_with(JPEG_XMP_PREFIX)));
                let mut c = JPEG_XMP_PREFIX.to_vec();
                c.extend_from_slice(x.as_bytes());
                // After the APP0/APP1 headers (JFIF, Exif), before everything else.
                let at = j
                    .segments()
                    .iter()
                    .position(|s| !matches!(s.marker(), markers::APP0 | markers::APP1))
                    .unwrap_or(j.segments().len());
                j.segments_mut().insert(at, JpegSegment::new_with_contents(markers::APP1, Bytes::from(c)));
            }
            Ok(j.encoder().bytes().to_vec())
        }
        Container::Webp => {
            let mut w = WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("WebP: {e}"))?;
            let xmp = xmp_with_text(meta);
            if let Some(x) = &xmp {
                w.remove_chunks_by_id(*b"XMP ");
                w.chunks_mut().push(RiffChunk::new(*b"XMP ", RiffContent::Data(Bytes::from(x.clone().into_bytes()))));
            }
            // Both setters (re)build the VP8X header and its ICC and EXIF flags.
            let old_icc = w.icc_profile();
            w.set_icc_profile(icc.or(old_icc));
            let old_exif = w.exif();
            w.set_exif(exif.or(old_exif));
            if xmp.is_some() {
                set_vp8x_flag(&mut w, 0b0000_0100)?;
            }
            Ok(w.encoder().bytes().to_vec())
        }
        Container::Tiff => {
            let mut fields = Vec::new();
            if let Some(i) = &meta.icc {
                fields.push((TAG_ICC, 7u16, i.clone()));
            }
            if let Some(x) = xmp_with_text(meta) {
                fields.push((TAG_XMP, 1u16, x.into_bytes()));
            }
            tiff_set_fields(bytes, &fields)
        }
    }
}

/// Sets a flag bit in the VP8X header of a WebP (the header must exist).
fn set_vp8x_flag(w: &mut WebP, bit: u8) -> Result<(), String> {
    let vp8x = w.chunks_mut().iter_mut().find(|c| c.id() == *b"VP8X").ok_or("WebP: no VP8X header")?;
    let RiffContent::Data(d) = vp8x.content() else { return Err("WebP: malformed VP8X header".into()) };
    let mut d = d.to_vec();
    if d.is_empty() {
        return Err("WebP: empty VP8X header".into());
    }
    d[0] |= bit;
    *vp8x = RiffChunk::new(*b"VP8X", RiffContent::Data(Bytes::from(d)));
    Ok(())
}

/// Escapes text for XML character data.
fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The XMP packet to write: the input's, with the text records added as elements of the
/// `fxchain` namespace in an `rdf:Description` of their own; a new packet when there is none.
pub fn xmp_with_text(meta: &Metadata) -> Option<String> {
    let base = meta.xmp.as_ref().map(|x| String::from_utf8_lossy(x).into_owned());
    if meta.text.is_empty() {
        return base;
    }
    let mut desc = format!("<rdf:Description rdf:about=\"\" xmlns:fxchain=\"{XMP_NS}\">");
    for (k, v) in &meta.text {
        let k: String = k.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        desc.push_str(&format!("<fxchain:{k}>{}</fxchain:{k}>", xml_escape(v)));
    }
    desc.push_str("</rdf:Description>");
    match base {
        Some(x) if x.contains("</rdf:RDF>") => {
            let x = strip_fxchain_descriptions(&x);
            let at = x.rfind("</rdf:RDF>").expect("checked");
            Some(format!("{}{desc}{}", &x[..at], &x[at..]))
        }
        _ => Some(format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             {desc}</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
        )),
    }
}

/// An XMP packet without the `rdf:Description` elements fxchain wrote (an input's record).
fn strip_fxchain_descriptions(x: &str) -> String {
    let open = format!("<rdf:Description rdf:about=\"\" xmlns:fxchain=\"{XMP_NS}\">");
    let mut s = x.to_string();
    while let Some(a) = s.find(&open) {
        let Some(len) = s[a..].find("</rdf:Description>") else { break };
        s.replace_range(a..a + len + "</rdf:Description>".len(), "");
    }
    s
}

/// The text record `key` of an image's metadata: a PNG `iTXt` record, or an element of the
/// `fxchain` XMP namespace.
pub fn text_record(meta: &Metadata, key: &str) -> Option<String> {
    if let Some((_, v)) = meta.text.iter().find(|(k, _)| k == key) {
        return Some(v.clone());
    }
    let x = String::from_utf8_lossy(meta.xmp.as_ref()?).into_owned();
    let (open, close) = (format!("<fxchain:{key}>"), format!("</fxchain:{key}>"));
    let a = x.find(&open)? + open.len();
    let b = a + x[a..].find(&close)?;
    Some(xml_unescape(&x[a..b]))
}

/// A parsed classic TIFF header and first IFD (also the layout of an EXIF block).
struct Tiff {
    le: bool,
    /// Offset of the first IFD.
    ifd: usize,
    entries: Vec<Entry>,
}

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// Offset of the 12-byte entry.
    at: usize,
}

impl Tiff {
    fn parse(b: &[u8]) -> Option<Tiff> {
        let le = match b.get(..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        let t0 = Tiff { le, ifd: 0, entries: Vec::new() };
        let ifd = t0.u32(b.get(4..8)?) as usize;
        let n = t0.u16(b.get(ifd..ifd + 2)?) as usize;
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let at = ifd + 2 + 12 * i;
            let e = b.get(at..at + 12)?;
            entries.push(Entry { tag: t0.u16(&e[0..2]), kind: t0.u16(&e[2..4]), count: t0.u32(&e[4..8]), at });
        }
        Some(Tiff { le, ifd, entries })
    }
    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }
    fn put16(&self, v: u16) -> [u8; 2] {
        if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }
    fn put32(&self, v: u32) -> [u8; 4] {
        if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }
    /// The bytes of a BYTE or UNDEFINED field.
    fn value_bytes<'a>(&self, b: &'a [u8], e: &Entry) -> Option<&'a [u8]> {
        if !matches!(e.kind, 1 | 7) {
            return None;
        }
        let n = e.count as usize;
        if n <= 4 {
            b.get(e.at + 8..e.at + 8 + n)
        } else {
            let off = self.u32(b.get(e.at + 8..e.at + 12)?) as usize;
            b.get(off..off.checked_add(n)?)
        }
    }
}

/// A TIFF with byte fields `(tag, type, data)` set in its first IFD: the data and a rewritten
/// IFD (entries sorted by tag, as TIFF requires) are appended and the header points to it; the
/// old IFD is left unused. Other fields keep their absolute offsets.
fn tiff_set_fields(b: &[u8], fields: &[(u16, u16, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let t = Tiff::parse(b).ok_or("TIFF: cannot read the first IFD")?;
    let next =
        b.get(t.ifd + 2 + 12 * t.entries.len()..t.ifd + 6 + 12 * t.entries.len()).ok_or("TIFF: truncated IFD")?;
    let mut out = b.to_vec();
    let mut entries: Vec<[u8; 12]> = t
        .entries
        .iter()
        .filter(|e| !fields.iter().any(|f| f.0 == e.tag))
        .map(|e| b[e.at..e.at + 12].try_into().expect("12 bytes"))
        .collect();
    for (tag, kind, data) in fields {
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let mut e = [0u8; 12];
        e[0..2].copy_from_slice(&t.put16(*tag));
        e[2..4].copy_from_slice(&t.put16(*kind));
        e[4..8].copy_from_slice(&t.put32(data.len() as u32));
        if data.len() <= 4 {
            e[8..8 + data.len()].copy_from_slice(data);
        } else {
            e[8..12].copy_from_slice(&t.put32(out.len() as u32));
            out.extend_from_slice(data);
        }
        entries.push(e);
    }
    entries.sort_by_key(|e| t.u16(&e[0..2]));
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let ifd = u32::try_from(out.len()).map_err(|_| "TIFF: larger than 4 GiB".to_string())?;
    out.extend_from_slice(&t.put16(entries.len() as u16));
    for e in &entries {
        out.extend_from_slice(e);
    }
    out.extend_from_slice(next);
    out[4..8].copy_from_slice(&t.put32(ifd));
    Ok(out)
}

/// How an input's colour was handled at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Colour {
    /// No ICC profile: taken as sRGB.
    Untagged,
    /// The profile is sRGB (its transform to sRGB changes no 8-bit value): nothing to do.
    Srgb,
    /// Converted from the profile to sRGB.
    Converted,
    /// Kept in the input's profile (`--keep-profile`).
    Kept,
    /// The profile cannot be applied to the decoded RGB pixels (a CMYK or grey profile, or a
    /// damaged one): the pixels are used as decoded and the profile is not carried.
    Unusable(String),
}

fn rgb_transform(icc: &[u8]) -> Result<(moxcms::ColorProfile, moxcms::ColorProfile), String> {
    let src = moxcms::ColorProfile::new_from_slice(icc).map_err(|e| format!("the ICC profile cannot be read: {e}"))?;
    if src.color_space != moxcms::DataColorSpace::Rgb {
        return Err(format!("the ICC profile is for {:?} data, not RGB", src.color_space));
    }
    Ok((src, moxcms::ColorProfile::new_srgb()))
}

/// Whether an RGB profile is sRGB in effect: its transform to sRGB maps every value of a
/// 16-level cube and the grey ramp onto itself.
pub fn is_srgb(icc: &[u8]) -> bool {
    let Ok((src, dst)) = rgb_transform(icc) else { return false };
    let Ok(t) =
        src.create_transform_8bit(moxcms::Layout::Rgb, &dst, moxcms::Layout::Rgb, moxcms::TransformOptions::default())
    else {
        return false;
    };
    let mut probe = Vec::new();
    for r in (0..=255).step_by(17) {
        for g in (0..=255).step_by(17) {
            for b in (0..=255).step_by(17) {
                probe.extend_from_slice(&[r as u8, g as u8, b as u8]);
            }
        }
    }
    for v in 0..=255u8 {
        probe.extend_from_slice(&[v, v, v]);
    }
    let mut out = vec![0u8; probe.len()];
    t.transform(&probe, &mut out).is_ok() && probe == out
}

/// Converts a frame's pixels from the ICC profile `icc` to sRGB in place (alpha unchanged).
pub fn convert_to_srgb(frame: &mut Frame, icc: &[u8]) -> Result<(), String> {
    let (src, dst) = rgb_transform(icc)?;
    // Floating-point matrix and curves: the default Q2.13 fixed point is up to two levels off
    // (measured against ImageMagick on Adobe RGB).
    let opts = moxcms::TransformOptions { prefer_fixed_point: false, ..Default::default() };
    let fail = |e: moxcms::CmsError| format!("colour conversion failed: {e}");
    match frame.format() {
        PixelFormat::RGBA32F => {
            let t = src.create_transform_f32(moxcms::Layout::Rgba, &dst, moxcms::Layout::Rgba, opts).map_err(fail)?;
            let mut out = Vec::new();
            for row in frame.rows_mut() {
                let px: &mut [f32] = bytemuck::cast_slice_mut(row);
                out.resize(px.len(), 0.0);
                t.transform(px, &mut out).map_err(fail)?;
                px.copy_from_slice(&out);
            }
        }
        _ => {
            let t = src.create_transform_8bit(moxcms::Layout::Rgba, &dst, moxcms::Layout::Rgba, opts).map_err(fail)?;
            let mut out = Vec::new();
            for row in frame.rows_mut() {
                out.resize(row.len(), 0);
                t.transform(row, &mut out).map_err(fail)?;
                row.copy_from_slice(&out);
            }
        }
    }
    Ok(())
}

/// Whether colour management has work to do on an input tagged `icc` under `options` (a profile
/// other than sRGB, converted or found unusable, and no `keep_profile`): such an input is decoded
/// whole before rendering.
pub fn converts(icc: Option<&[u8]>, options: MetaOptions) -> bool {
    icc.is_some_and(|icc| !options.keep_profile && !is_srgb(icc))
}

/// Brings a decoded frame to sRGB according to its input's ICC profile and `options`.
pub fn manage_colour(frame: &mut Frame, icc: Option<&[u8]>, options: MetaOptions) -> Colour {
    let Some(icc) = icc else { return Colour::Untagged };
    if let Err(e) = rgb_transform(icc) {
        return Colour::Unusable(e);
    }
    if options.keep_profile {
        return Colour::Kept;
    }
    if is_srgb(icc) {
        return Colour::Srgb;
    }
    match convert_to_srgb(frame, icc) {
        Ok(()) => Colour::Converted,
        Err(e) => Colour::Unusable(e),
    }
}

/// An input image with what its output carries.
pub struct Loaded {
    /// The pixels, in sRGB unless `keep_profile`.
    pub frame: Frame,
    /// The metadata for outputs made from this input (see [`for_output`]).
    pub metadata: Metadata,
    /// How its colour was handled.
    pub colour: Colour,
}

/// Decodes the image at `path` (as [`crate::io::load_image`]), reads its metadata, converts it
/// to sRGB unless `options.keep_profile`, and prepares the metadata of its outputs.
pub fn load(path: &Path, format: PixelFormat, limits: ImageLimits, options: MetaOptions) -> Result<Loaded, ImageError> {
    let source = crate::io::ImageSource::open(path, &crate::io::SourceOptions { limits, frame: None })?;
    load_source(source, format, options)
}

/// [`load`] from an opened source: its pixels (converted to sRGB unless `keep_profile`) and the
/// metadata for outputs made from it.
pub fn load_source(
    source: crate::io::ImageSource,
    format: PixelFormat,
    options: MetaOptions,
) -> Result<Loaded, ImageError> {
    let input = source.header().metadata.clone();
    let name = source.name().to_path_buf();
    let mut frame = source.read_frame(format)?;
    let colour = manage_colour(&mut frame, input.icc.as_deref(), options);
    if let Colour::Unusable(why) = &colour {
        tracing::warn!("{}: {why}; the pixels are used as decoded and the profile is not kept", name.display());
    }
    let metadata = for_output(&input, options, !matches!(colour, Colour::Kept | Colour::Srgb));
    Ok(Loaded { frame, metadata, colour })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian EXIF block with Orientation = `o` and one other field.
    fn exif(o: u16, le: bool) -> Vec<u8> {
        let t = Tiff { le, ifd: 8, entries: Vec::new() };
        let mut b = if le { b"II*\0".to_vec() } else { b"MM\0*".to_vec() };
        b.extend_from_slice(&t.put32(8));
        b.extend_from_slice(&t.put16(2));
        // ImageWidth (LONG) = 640, then Orientation (SHORT).
        b.extend_from_slice(&t.put16(0x0100));
        b.extend_from_slice(&t.put16(4));
        b.extend_from_slice(&t.put32(1));
        b.extend_from_slice(&t.put32(640));
        b.extend_from_slice(&t.put16(TAG_ORIENTATION));
        b.extend_from_slice(&t.put16(3));
        b.extend_from_slice(&t.put32(1));
        b.extend_from_slice(&t.put16(o));
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&t.put32(0));
        b
    }

    #[test]
    fn orientation_is_reset_in_place_in_both_byte_orders() {
        for le in [true, false] {
            let mut e = exif(6, le);
            let before = e.clone();
            assert_eq!(orientation(&e), Some(6));
            assert!(reset_orientation(&mut e));
            assert_eq!(orientation(&e), Some(1));
            // Only the two value bytes changed.
            let diff: Vec<usize> = (0..e.len()).filter(|&i| e[i] != before[i]).collect();
            assert_eq!(diff.len(), 1, "{diff:?}");
        }
        // Not EXIF, or truncated: left alone.
        let mut junk = b"hello world".to_vec();
        assert!(!reset_orientation(&mut junk));
        let mut cut = exif(6, true)[..20].to_vec();
        assert!(!reset_orientation(&mut cut));
        assert_eq!(orientation(&cut), None);
    }

    #[test]
    fn strip_drops_everything_and_conversion_drops_the_profile() {
        let m = Metadata {
            icc: Some(vec![1; 10]),
            exif: Some(exif(8, true)),
            xmp: Some(b"<x/>".to_vec()),
            text: vec![("a".into(), "b".into())],
        };
        assert_eq!(for_output(&m, MetaOptions { strip: true, keep_profile: false }, false), Metadata::default());
        let o = for_output(&m, MetaOptions::default(), true);
        assert_eq!(o.icc, None);
        assert_eq!(orientation(o.exif.as_ref().unwrap()), Some(1));
        assert_eq!(o.xmp, m.xmp);
        assert!(o.text.is_empty());
        assert_eq!(for_output(&m, MetaOptions::default(), false).icc, m.icc);
    }

    fn encoded(format: OutputFormat, alpha: bool) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(9, 7, |x, y| {
            image::Rgba([x as u8 * 20, y as u8 * 30, 7, if alpha { 128 } else { 255 }])
        });
        let img = if alpha {
            image::DynamicImage::ImageRgba8(img)
        } else {
            image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(img).to_rgb8())
        };
        let mut c = std::io::Cursor::new(Vec::new());
        let f = match format {
            OutputFormat::Png => image::ImageFormat::Png,
            OutputFormat::Jpeg(_) => image::ImageFormat::Jpeg,
            OutputFormat::Webp => image::ImageFormat::WebP,
            OutputFormat::Tiff => image::ImageFormat::Tiff,
        };
        img.write_to(&mut c, f).unwrap();
        c.into_inner()
    }

    #[test]
    fn metadata_round_trips_through_every_format_and_pixels_still_decode() {
        let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let m = Metadata {
            icc: Some(icc.clone()),
            exif: Some(exif(1, true)),
            xmp: Some(b"<?xpacket begin=\"\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:format>image</dc:format></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>".to_vec()),
            text: vec![("fxchain".into(), "{\"a\": \"<b> & c\"}".into())],
        };
        for (format, alpha) in [
            (OutputFormat::Png, true),
            (OutputFormat::Jpeg(90), false),
            (OutputFormat::Webp, true),
            (OutputFormat::Webp, false),
            (OutputFormat::Tiff, true),
        ] {
            let plain = encoded(format, alpha);
            let out = embed(&plain, format, &m).unwrap();
            let back = read(&out);
            assert_eq!(back.icc.as_deref(), Some(&icc[..]), "{format:?}");
            if format != OutputFormat::Tiff {
                assert_eq!(back.exif, m.exif, "{format:?}");
            }
            assert_eq!(text_record(&back, "fxchain").as_deref(), Some("{\"a\": \"<b> & c\"}"), "{format:?}");
            let xmp = String::from_utf8(back.xmp.clone().unwrap()).unwrap();
            assert!(xmp.contains("<dc:format>image</dc:format>"), "{format:?}: {xmp}");
            // The pixels are those of the plain file.
            let a = image::load_from_memory(&plain).unwrap().to_rgba8();
            let b = image::load_from_memory(&out).unwrap().to_rgba8();
            assert_eq!(a, b, "{format:?}");
            // Embedding again replaces instead of piling up.
            let twice = embed(&out, format, &m).unwrap();
            if format != OutputFormat::Tiff {
                assert_eq!(twice.len(), out.len(), "{format:?}");
            }
            assert_eq!(text_record(&read(&twice), "fxchain").as_deref(), Some("{\"a\": \"<b> & c\"}"));
            let records = if format == OutputFormat::Png { 0 } else { 2 };
            let xmp = String::from_utf8(read(&twice).xmp.unwrap()).unwrap();
            assert_eq!(xmp.matches("fxchain:fxchain>").count(), records, "{format:?}");
        }
        // Nothing to add: the bytes are unchanged.
        let plain = encoded(OutputFormat::Png, true);
        assert_eq!(embed(&plain, OutputFormat::Png, &Metadata::default()).unwrap(), plain);
        assert!(embed(&plain, OutputFormat::Webp, &m).unwrap_err().contains("not Webp"));
    }

    #[test]
    fn profiles_are_told_apart_and_converted() {
        assert!(is_srgb(&moxcms::ColorProfile::new_srgb().encode().unwrap()));
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        assert!(!is_srgb(&p3));
        // P3 pure red is outside sRGB: clipped to (255, 0, 0) or so; P3 grey stays grey.
        let mut f = Frame::from_rgba8(fxchain_plugin_api::Size::new(2, 1), &[255, 0, 0, 255, 128, 128, 128, 77]);
        assert_eq!(manage_colour(&mut f, Some(&p3), MetaOptions::default()), Colour::Converted);
        let px = f.to_rgba8_vec();
        assert!(px[0] == 255 && px[1] <= 1 && px[2] <= 1, "{px:?}");
        assert!(px[4..7].iter().all(|&v| v.abs_diff(128) <= 1) && px[7] == 77, "{px:?}");
        // Kept: pixels untouched.
        let mut g = Frame::from_rgba8(fxchain_plugin_api::Size::new(1, 1), &[10, 200, 30, 255]);
        assert_eq!(manage_colour(&mut g, Some(&p3), MetaOptions { strip: false, keep_profile: true }), Colour::Kept);
        assert_eq!(g.to_rgba8_vec(), vec![10, 200, 30, 255]);
        // A damaged profile is reported, not applied.
        assert!(matches!(manage_colour(&mut g, Some(b"not a profile"), MetaOptions::default()), Colour::Unusable(_)));
    }
}
