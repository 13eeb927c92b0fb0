//! Splits a serial console log into stages and extracts KTAP documents.
//!
//! The guest's /init prints "LAB: stage-begin NAME", "LAB: stage-end NAME
//! rc=N secs=S" and finally "LAB: plan-done". KTAP printed outside a stage,
//! such as the kernel's built-in KUnit run at boot, becomes a pseudo-stage
//! named "kunit-boot" ("kunit-boot-2", ... for later ones).

use crate::ktap::{self, DocLine};

pub const BOOT_STAGE: &str = "kunit-boot";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageEnd {
    pub rc: i64,
    pub secs: f64,
}

#[derive(Debug, PartialEq)]
pub struct Stage {
    pub name: String,
    /// KTAP found outside any stage-begin/end pair.
    pub pseudo: bool,
    /// From the stage-end marker; `None` if it never came.
    pub end: Option<StageEnd>,
    pub docs: Vec<Vec<DocLine>>,
    /// printk timestamps of the first and last stamped lines of the stage.
    pub time_span: Option<(f64, f64)>,
}

#[derive(Debug, PartialEq)]
pub struct Line {
    /// The line as logged, less any trailing carriage return.
    pub raw: String,
    /// Where the text proper starts: after the printk timestamp and, in a
    /// KTAP document, after the document's prefix.
    body_start: usize,
    /// Index into `Console::stages` of the stage the line falls in.
    pub stage: Option<usize>,
}

impl Line {
    pub fn body(&self) -> &str {
        &self.raw[self.body_start..]
    }
}

#[derive(Debug, Default, PartialEq)]
pub struct Console {
    pub lines: Vec<Line>,
    pub stages: Vec<Stage>,
    pub plan_done: bool,
    /// The log ends inside a line (QEMU killed mid-print): that half line
    /// is kept as text but is never a result or a marker.
    pub cut_short: bool,
}

pub fn parse(log: &str) -> Console {
    let mut builder = Builder::default();
    let mut lines = log.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches('\r');
        if lines.peek().is_none() && !log.ends_with('\n') {
            builder.push_half_line(line);
        } else {
            builder.push(line);
        }
    }
    builder.close_doc();
    builder.console
}

/// Splits off a printk "[   12.345678] " prefix, together with the
/// "[    T1]" caller field that CONFIG_PRINTK_CALLER adds; returns the
/// time in seconds and the rest of the line.
fn split_timestamp(line: &str) -> (Option<f64>, &str) {
    let Some((time, mut rest)) = bracketed(line) else {
        return (None, line);
    };
    let time = time.trim_start();
    // Only "seconds.fraction": "[drm]" or "[  OK  ]" are no timestamps.
    let is_time = time.split_once('.').is_some_and(|(secs, fraction)| {
        [secs, fraction]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    });
    if !is_time {
        return (None, line);
    }
    if let Some((caller, after)) = bracketed(rest) {
        let caller = caller.trim_start();
        if caller.starts_with(['T', 'C']) && caller[1..].bytes().all(|b| b.is_ascii_digit()) {
            rest = after;
        }
    }
    (time.parse().ok(), rest.strip_prefix(' ').unwrap_or(rest))
}

/// "[inner]rest" -> ("inner", "rest").
fn bracketed(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix('[')?.split_once(']')
}

#[derive(Debug, PartialEq)]
enum Marker<'a> {
    StageBegin(&'a str),
    StageEnd(&'a str, StageEnd),
    PlanDone,
}

impl Marker<'_> {
    fn parse(text: &str) -> Option<Marker<'_>> {
        // Matched anywhere in the line: on the serial console a kernel
        // message without its newline yet can precede it.
        let (_, rest) = text.split_once("LAB: ")?;
        let mut words = rest.split_whitespace();
        let marker = match words.next()? {
            "plan-done" => Marker::PlanDone,
            "stage-begin" => Marker::StageBegin(words.next()?),
            "stage-end" => {
                let name = words.next()?;
                let (mut rc, mut secs) = (None, None);
                for word in words.by_ref() {
                    match word.split_once('=')? {
                        ("rc", value) => rc = Some(value.parse().ok()?),
                        ("secs", value) => secs = Some(value.parse().ok()?),
                        _ => return None,
                    }
                }
                Marker::StageEnd(
                    name,
                    StageEnd {
                        rc: rc?,
                        secs: secs?,
                    },
                )
            }
            _ => return None,
        };
        words.next().is_none().then_some(marker)
    }
}

/// A KTAP document being extracted.
#[derive(Debug)]
struct OpenDoc {
    prefix: String,
    stage: usize,
    lines: Vec<DocLine>,
    /// Its top-level plan and results, to tell when it is over.
    plan: Option<usize>,
    results: usize,
}

impl OpenDoc {
    /// Once the plan is met, only KTAP's own lines still join the
    /// document: a result or plan after the last planned one is a broken
    /// plan to report, while a kernel message, say a WARNING after the
    /// last KUnit suite, is no longer part of it.
    fn over(&self) -> bool {
        self.plan.is_some_and(|planned| self.results >= planned)
    }
}

#[derive(Debug, Default)]
struct Builder {
    console: Console,
    /// The stage between its begin and end markers.
    current: Option<usize>,
    doc: Option<OpenDoc>,
    boot_docs: usize,
}

impl Builder {
    fn push_half_line(&mut self, raw: &str) {
        self.console.cut_short = true;
        self.console.lines.push(Line {
            raw: raw.to_string(),
            body_start: 0,
            stage: self.current,
        });
    }

    fn push(&mut self, raw: &str) {
        let (time, text) = split_timestamp(raw);
        let mut body_start = raw.len() - text.len();
        let stage = if let Some(marker) = Marker::parse(text) {
            self.close_doc();
            self.marker(marker)
        } else if let Some((prefix_len, stage)) = self.ktap_line(text) {
            body_start += prefix_len;
            Some(stage)
        } else {
            self.current
        };
        if let (Some(stage), Some(time)) = (stage, time) {
            let span = &mut self.console.stages[stage].time_span;
            *span = Some(span.map_or((time, time), |(first, _)| (first, time)));
        }
        self.console.lines.push(Line {
            raw: raw.to_string(),
            body_start,
            stage,
        });
    }

    /// Applies a marker; returns the stage its line belongs to.
    fn marker(&mut self, marker: Marker) -> Option<usize> {
        match marker {
            Marker::StageBegin(name) => {
                // A stage still open here never ended and stays incomplete.
                self.current = Some(self.add_stage(name.to_string(), false));
                self.current
            }
            Marker::StageEnd(name, end) => {
                let stage = self.current?;
                // An end for another stage is an /init bug; leaving the
                // current stage open makes it show up as incomplete.
                if self.console.stages[stage].name == name {
                    self.console.stages[stage].end = Some(end);
                    self.current = None;
                }
                Some(stage)
            }
            Marker::PlanDone => {
                self.console.plan_done = true;
                self.current
            }
        }
    }

    /// Feeds a line to KTAP extraction, following kunit.py's
    /// extract_tap_lines(): the text before "KTAP version" is the
    /// document's prefix, which is stripped from its later lines; lines
    /// without it are kernel messages and pass through. Returns the
    /// prefix length stripped and the stage of the document, or `None`
    /// for a line outside any document.
    fn ktap_line(&mut self, text: &str) -> Option<(usize, usize)> {
        let version_at = ktap::version_prefix_len(text.trim_end());
        let continued = self
            .doc
            .as_ref()
            .and_then(|doc| text.strip_prefix(doc.prefix.as_str()))
            // Indented or "# " version lines start nested documents, which
            // are part of this one.
            .filter(|rest| version_at.is_none() || rest.starts_with([' ', '\t', '#']))
            .filter(|rest| {
                !self.doc.as_ref().is_some_and(OpenDoc::over) || ktap::is_late_line(rest)
            });
        let rest = match (continued, version_at) {
            (Some(rest), _) => rest,
            (None, Some(at)) => {
                self.open_doc(&text[..at]);
                &text[at..]
            }
            (None, None) => return None,
        };
        let doc = self.doc.as_mut()?;
        let line = DocLine::new(rest);
        if line.indent == 0 {
            if let Some(count) = ktap::plan_count(&line.text) {
                doc.plan = doc.plan.or(Some(count));
            } else if ktap::is_result(&line.text) {
                doc.results += 1;
            }
        }
        doc.lines.push(line);
        Some((text.len() - rest.len(), doc.stage))
    }

    fn open_doc(&mut self, prefix: &str) {
        self.close_doc();
        let stage = match self.current {
            Some(stage) => stage,
            None => {
                self.boot_docs += 1;
                let name = match self.boot_docs {
                    1 => BOOT_STAGE.to_string(),
                    n => format!("{BOOT_STAGE}-{n}"),
                };
                self.add_stage(name, true)
            }
        };
        self.doc = Some(OpenDoc {
            prefix: prefix.to_string(),
            stage,
            lines: Vec::new(),
            plan: None,
            results: 0,
        });
    }

    fn close_doc(&mut self) {
        if let Some(doc) = self.doc.take() {
            self.console.stages[doc.stage].docs.push(doc.lines);
        }
    }

    fn add_stage(&mut self, name: String, pseudo: bool) -> usize {
        self.console.stages.push(Stage {
            name,
            pseudo,
            end: None,
            docs: Vec::new(),
            time_span: None,
        });
        self.console.stages.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_texts(console: &Console, stage: usize, doc: usize) -> Vec<String> {
        console.stages[stage].docs[doc]
            .iter()
            .map(|line| format!("{}{}", " ".repeat(line.indent), line.text))
            .collect()
    }

    fn stage_names(console: &Console) -> Vec<&str> {
        console.stages.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            split_timestamp("[   12.345678] foo"),
            (Some(12.345678), "foo")
        );
        assert_eq!(
            split_timestamp("[    0.000000][    T1] foo"),
            (Some(0.0), "foo")
        );
        assert_eq!(
            split_timestamp("[    1.500000][   C3] bar"),
            (Some(1.5), "bar")
        );
        assert_eq!(split_timestamp("[12.5]x"), (Some(12.5), "x"));
        assert_eq!(split_timestamp("[drm] foo"), (None, "[drm] foo"));
        assert_eq!(
            split_timestamp("[  OK  ] Started"),
            (None, "[  OK  ] Started")
        );
        assert_eq!(split_timestamp("[1.] foo"), (None, "[1.] foo"));
        assert_eq!(split_timestamp("no stamp"), (None, "no stamp"));
        assert_eq!(split_timestamp("[ 1.0][x] y"), (Some(1.0), "[x] y"));
    }

    #[test]
    fn markers() {
        assert_eq!(
            Marker::parse("LAB: stage-begin net"),
            Some(Marker::StageBegin("net"))
        );
        assert_eq!(
            Marker::parse("LAB: stage-end net rc=3 secs=1.5"),
            Some(Marker::StageEnd("net", StageEnd { rc: 3, secs: 1.5 }))
        );
        assert_eq!(
            Marker::parse("junk LAB: stage-end net secs=7 rc=-1"),
            Some(Marker::StageEnd("net", StageEnd { rc: -1, secs: 7.0 }))
        );
        assert_eq!(Marker::parse("LAB: plan-done"), Some(Marker::PlanDone));
        for bad in [
            "LAB: stage-begin",
            "LAB: stage-end net rc=0",
            "LAB: stage-end net rc=x secs=1",
            "LAB: stage-end net rc=0 secs=1 extra=2",
            "LAB: plan-done now",
            "LAB: something",
            "LAB:plan-done",
        ] {
            assert_eq!(Marker::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn stages_and_plan_done() {
        let console = parse(
            "boot\nLAB: stage-begin a\nin a\nLAB: stage-end a rc=0 secs=2\nbetween\n\
             LAB: stage-begin b\nLAB: plan-done\n",
        );
        assert!(console.plan_done);
        assert_eq!(stage_names(&console), ["a", "b"]);
        assert_eq!(console.stages[0].end, Some(StageEnd { rc: 0, secs: 2.0 }));
        assert_eq!(console.stages[1].end, None);
        let stages: Vec<_> = console.lines.iter().map(|l| l.stage).collect();
        assert_eq!(
            stages,
            [None, Some(0), Some(0), Some(0), None, Some(1), Some(1)]
        );
    }

    #[test]
    fn mismatched_stage_end_leaves_stage_open() {
        let console = parse("LAB: stage-begin a\nLAB: stage-end b rc=0 secs=1\nx\n");
        assert_eq!(console.stages[0].end, None);
        assert_eq!(console.lines[2].stage, Some(0));
    }

    #[test]
    fn prefix_is_stripped_from_lines_that_carry_it() {
        let console = parse(
            "LAB: stage-begin k\n\
             kunit: KTAP version 1\n\
             kunit: 1..1\n\
             kunit:     KTAP version 1\n\
             kunit:     # Subtest: s\n\
             some kernel message\n\
             kunit:     ok 1 t\n\
             kunit: ok 1 s\n\
             LAB: stage-end k rc=0 secs=1\n",
        );
        assert_eq!(
            doc_texts(&console, 0, 0),
            [
                "KTAP version 1",
                "1..1",
                "    KTAP version 1",
                "    # Subtest: s",
                "    ok 1 t",
                "ok 1 s"
            ]
        );
        assert_eq!(console.lines[3].body(), "    KTAP version 1");
        assert_eq!(console.lines[5].body(), "some kernel message");
    }

    #[test]
    fn timestamps_are_stripped_before_the_prefix_rule() {
        let console = parse(
            "LAB: stage-begin k\n\
             [    1.000000] KTAP version 1\n\
             [    1.000100] 1..1\n\
             [    1.000200]     ok 1 t\n\
             [    3.500000] ok 1 s\n\
             LAB: stage-end k rc=0 secs=1\n",
        );
        assert_eq!(
            doc_texts(&console, 0, 0),
            ["KTAP version 1", "1..1", "    ok 1 t", "ok 1 s"]
        );
        assert_eq!(console.stages[0].time_span, Some((1.0, 3.5)));
        assert_eq!(console.lines[3].body(), "    ok 1 t");
    }

    #[test]
    fn ktap_outside_stages_becomes_boot_pseudo_stages() {
        let console = parse(
            "Linux version 6.12\n\
             KTAP version 1\n\
             1..1\n\
             \x20   ok 1 a\n\
             ok 1 suite\n\
             WARNING: CPU: 0 PID: 1 at x.c:1 f\n\
             LAB: stage-begin s\n\
             LAB: stage-end s rc=0 secs=1\n\
             KTAP version 1\n\
             1..2\n\
             ok 1 late\n",
        );
        assert_eq!(stage_names(&console), [BOOT_STAGE, "s", "kunit-boot-2"]);
        assert!(console.stages[0].pseudo && console.stages[2].pseudo && !console.stages[1].pseudo);
        // Once the plan is met the document is over.
        assert_eq!(console.lines[4].stage, Some(0));
        assert_eq!(console.lines[5].stage, None);
        assert_eq!(
            doc_texts(&console, 2, 0),
            ["KTAP version 1", "1..2", "ok 1 late"]
        );
    }

    #[test]
    fn several_documents_in_one_stage() {
        let console = parse(
            "LAB: stage-begin s\n\
             KTAP version 1\n1..1\nok 1 a\n\
             TAP version 13\n1..1\n# TAP version 13\n# 1..1\n# ok 1 x\nok 1 b\n\
             KTAP version 1\n\
             LAB: stage-end s rc=0 secs=1\n",
        );
        assert_eq!(console.stages.len(), 1);
        let docs = &console.stages[0].docs;
        assert_eq!(docs.len(), 3);
        assert_eq!(doc_texts(&console, 0, 1)[2], "# TAP version 13");
    }

    #[test]
    fn new_top_level_version_line_starts_a_new_document() {
        let console =
            parse("LAB: stage-begin s\nKTAP version 1\n1..2\nok 1 a\nKTAP version 1\n1..1\n");
        assert_eq!(console.stages[0].docs.len(), 2);
    }

    #[test]
    fn marker_closes_open_document() {
        let console = parse("KTAP version 1\n1..5\nok 1 a\nLAB: stage-begin s\nok 2 b\n");
        assert_eq!(console.stages[0].docs[0].len(), 3);
        assert!(console.stages[1].docs.is_empty());
    }

    #[test]
    fn carriage_returns_are_dropped() {
        let console = parse("LAB: plan-done\r\nfoo\r\r\n");
        assert!(console.plan_done);
        assert_eq!(console.lines[1].raw, "foo");
    }
}
