//! The input and output options of every command that reads and writes images
//! (`#[command(flatten)] io: IoArgs`).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use fxchain_host::io::{EncodeOptions, OutputFormat, Subsampling, Target, TiffCompression};

/// JPEG chroma subsampling on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SubsamplingArg {
    /// 4:2:0 below quality 90, 4:4:4 from 90 on.
    Auto,
    /// No subsampling.
    #[value(name = "444")]
    S444,
    /// Half horizontal chroma.
    #[value(name = "422")]
    S422,
    /// Half horizontal and vertical chroma.
    #[value(name = "420")]
    S420,
}

/// TIFF compression on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TiffCompressionArg {
    /// Uncompressed.
    None,
    /// LZW.
    Lzw,
    /// Deflate (zlib).
    Deflate,
}

/// Image input and output options.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Image input and output")]
pub struct IoArgs {
    /// Output format: png, jpg, webp or tiff. Needed for `-o -` (standard output); otherwise the
    /// format comes from `FMT:FILE` (such as `png:-`) or from the file's extension.
    #[arg(long, value_name = "FMT", value_parser = ["png", "jpg", "jpeg", "webp", "tif", "tiff"])]
    pub format: Option<String>,
    /// The frame or page to read from a multi-frame input (GIF, animated PNG or WebP,
    /// multi-page TIFF), counted from 0. Without it such an input is refused.
    #[arg(long, value_name = "N")]
    pub frame: Option<u32>,
    /// Bits per channel of PNG and TIFF outputs (default: 16 when an input has 16 bits and the
    /// chain works in F32, else 8).
    #[arg(long, value_name = "BITS", value_parser = ["8", "16"])]
    pub depth: Option<String>,
    /// Flatten transparency onto this colour (#rrggbb, #rgb, R,G,B, white, black) and write
    /// without alpha. JPEG has no alpha: without this, transparency is flattened on white with
    /// a warning.
    #[arg(long, value_name = "COLOR", value_parser = fxchain_host::io::parse_color)]
    pub background: Option<[u8; 3]>,
    /// PNG zlib compression level, 0 (none) to 9 (smallest).
    #[arg(long, value_name = "0-9", default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub png_compression: u8,
    /// PNG: the fastest encoder instead (larger files).
    #[arg(long)]
    pub png_fast: bool,
    /// JPEG quality 1..=100.
    #[arg(long, visible_alias = "jpeg-q", value_name = "1-100", default_value_t = 90,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: u8,
    /// JPEG: progressive instead of baseline.
    #[arg(long)]
    pub jpeg_progressive: bool,
    /// JPEG chroma subsampling.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = SubsamplingArg::Auto)]
    pub jpeg_subsampling: SubsamplingArg,
    /// WebP: lossy at --webp-quality instead of lossless.
    #[arg(long)]
    pub webp_lossy: bool,
    /// WebP lossy quality 1..=100 (implies --webp-lossy).
    #[arg(long, value_name = "1-100", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub webp_quality: Option<u8>,
    /// TIFF compression.
    #[arg(long, value_name = "METHOD", value_enum, default_value_t = TiffCompressionArg::None)]
    pub tiff_compression: TiffCompressionArg,
}

impl Default for IoArgs {
    /// The settings when no flag is given.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            io: IoArgs,
        }
        <Defaults as clap::Parser>::parse_from(["fxchain"]).io
    }
}

impl IoArgs {
    /// Sets the frame read from inputs and the encoder settings of `options` from these flags.
    pub fn apply(&self, options: &mut fxchain_host::pipeline::JobOptions) {
        options.frame = self.frame;
        options.encode = self.encode_options(false);
        options.follow_input_depth = self.depth.is_none();
    }

    /// Encoder settings; `deep_input` says whether an input had more than 8 bits and the chain
    /// keeps them (F32), which makes 16 bits the default depth.
    pub fn encode_options(&self, deep_input: bool) -> EncodeOptions {
        let depth = match self.depth.as_deref() {
            Some("16") => 16,
            Some(_) => 8,
            None if deep_input => 16,
            None => 8,
        };
        EncodeOptions {
            png_compression: self.png_compression,
            png_fast: self.png_fast,
            jpeg_progressive: self.jpeg_progressive,
            jpeg_subsampling: match self.jpeg_subsampling {
                SubsamplingArg::Auto => Subsampling::Auto,
                SubsamplingArg::S444 => Subsampling::S444,
                SubsamplingArg::S422 => Subsampling::S422,
                SubsamplingArg::S420 => Subsampling::S420,
            },
            webp_lossy: (self.webp_lossy || self.webp_quality.is_some()).then(|| self.webp_quality.unwrap_or(75)),
            tiff_compression: match self.tiff_compression {
                TiffCompressionArg::None => TiffCompression::None,
                TiffCompressionArg::Lzw => TiffCompression::Lzw,
                TiffCompressionArg::Deflate => TiffCompression::Deflate,
            },
            depth,
            background: self.background,
        }
    }

    /// The format named by `--format`, with `--jpeg-quality` applied.
    pub fn format_flag(&self) -> Option<OutputFormat> {
        self.format.as_deref().and_then(OutputFormat::from_name).map(|f| self.with_quality(f))
    }

    fn with_quality(&self, f: OutputFormat) -> OutputFormat {
        match f {
            OutputFormat::Jpeg(_) => OutputFormat::Jpeg(self.jpeg_quality),
            f => f,
        }
    }

    /// Where `-o ARG` writes and in which format: `-` is standard output (the format from
    /// `--format`), `FMT:FILE` names the format (`png:-`), else `--format` or the extension.
    pub fn output(&self, arg: &Path) -> Result<(Target, OutputFormat), String> {
        let s = arg.to_string_lossy();
        let (prefix, path) = match s.split_once(':') {
            Some((f, rest)) if OutputFormat::from_name(f).is_some() && !rest.is_empty() => {
                (OutputFormat::from_name(f), PathBuf::from(rest))
            }
            _ => (None, arg.to_path_buf()),
        };
        let target = Target::from_path(&path);
        let format = self.format_flag().or(prefix.map(|f| self.with_quality(f)));
        let format = match (format, &target) {
            (Some(f), _) => f,
            (None, Target::Stdout) => {
                return Err("-o -: standard output has no extension; choose a format with --format FMT or png:-".into())
            }
            (None, Target::File(p)) => match OutputFormat::from_path(p) {
                Some(f) => self.with_quality(f),
                None => {
                    return Err(format!(
                        "{}: unknown output format; use .png, .jpg, .webp or .tiff, or --format",
                        p.display()
                    ))
                }
            },
        };
        Ok((target, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        io: IoArgs,
    }

    fn io(args: &[&str]) -> IoArgs {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap().io
    }

    #[test]
    fn outputs_take_their_format_from_the_flag_the_prefix_or_the_extension() {
        let d = io(&[]);
        assert_eq!(d.output(Path::new("a.webp")).unwrap(), (Target::File("a.webp".into()), OutputFormat::Webp));
        assert_eq!(d.output(Path::new("png:-")).unwrap(), (Target::Stdout, OutputFormat::Png));
        assert_eq!(
            d.output(Path::new("jpg:out.bin")).unwrap(),
            (Target::File("out.bin".into()), OutputFormat::Jpeg(90))
        );
        assert!(d.output(Path::new("-")).unwrap_err().contains("--format FMT or png:-"));
        assert!(d.output(Path::new("a.bmp")).unwrap_err().contains("unknown output format"));
        let j = io(&["--format", "jpeg", "--jpeg-quality", "70"]);
        assert_eq!(j.output(Path::new("-")).unwrap(), (Target::Stdout, OutputFormat::Jpeg(70)));
        assert_eq!(io(&["--jpeg-q", "55"]).output(Path::new("x.jpg")).unwrap().1, OutputFormat::Jpeg(55));
    }

    #[test]
    fn depth_follows_the_input_unless_given_and_flags_reach_the_encoder() {
        assert_eq!(io(&[]).encode_options(true).depth, 16);
        assert_eq!(io(&[]).encode_options(false).depth, 8);
        assert_eq!(io(&["--depth", "8"]).encode_options(true).depth, 8);
        let o = io(&["--png-compression", "9", "--tiff-compression", "lzw", "--background", "#102030"])
            .encode_options(false);
        assert_eq!(
            (o.png_compression, o.tiff_compression, o.background),
            (9, TiffCompression::Lzw, Some([16, 32, 48]))
        );
        assert_eq!(io(&["--webp-lossy"]).encode_options(false).webp_lossy, Some(75));
        assert_eq!(io(&["--webp-quality", "60"]).encode_options(false).webp_lossy, Some(60));
        assert_eq!(io(&[]).encode_options(false).webp_lossy, None);
        assert!(T::try_parse_from(["t", "--png-compression", "10"]).is_err());
        assert!(T::try_parse_from(["t", "--background", "nope"]).is_err());
    }
}
