//! Chain errors with source locations, rendered as annotated snippets by `miette`.

use std::path::PathBuf;
use std::sync::Arc;

use super::syntax::Span;
use super::ChainSource;

/// One problem in a chain file.
#[derive(Debug, Clone)]
pub struct ChainDiagnostic {
    /// What is wrong.
    pub message: String,
    /// Where, when it comes from the file.
    pub span: Option<Span>,
    /// A suggestion ("did you mean …").
    pub help: Option<String>,
    /// The file.
    pub source: Arc<ChainSource>,
}

impl ChainDiagnostic {
    /// `file:line:col` of the problem (or just the file name).
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.source.name, s.start.line, s.start.col),
            None => self.source.name.clone(),
        }
    }
}

impl std::fmt::Display for ChainDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(h) = &self.help {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChainDiagnostic {}

impl miette::Diagnostic for ChainDiagnostic {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span.is_some().then_some(self as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let s = self.span?;
        let len = s.end.offset.saturating_sub(s.start.offset).max(1);
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_primary_with_span(
            Some("here".into()),
            (s.start.offset, len),
        ))))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
}

impl miette::SourceCode for ChainDiagnostic {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.source.text.read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.source.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Why a chain cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The file could not be read.
    #[error("{}: cannot read the chain: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not valid RON for a chain (the first error).
    #[error("{0}")]
    Syntax(Box<ChainDiagnostic>),
    /// The file parses but does not validate (every error found).
    #[error("{} error(s) in the chain: {}", .0.len(), .0.first().map(|d| d.to_string()).unwrap_or_default())]
    Invalid(Vec<ChainDiagnostic>),
}

impl ChainError {
    /// The individual problems.
    pub fn diagnostics(&self) -> Vec<&ChainDiagnostic> {
        match self {
            ChainError::Io { .. } => Vec::new(),
            ChainError::Syntax(d) => vec![d],
            ChainError::Invalid(v) => v.iter().collect(),
        }
    }
}
