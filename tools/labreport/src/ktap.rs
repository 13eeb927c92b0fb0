//! KTAP v1 and TAP 13 parsing (Documentation/dev-tools/ktap.rst).
//!
//! Subtests nest by indentation. kselftest's runner instead prefixes each
//! test program's own (K)TAP output with "# "; such output is parsed as the
//! subtests of the result line that follows it.

use std::fmt;
use std::iter::Sum;
use std::ops::AddAssign;

/// One line of a KTAP document, with the document prefix already removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    /// Columns of leading whitespace; deeper lines belong to subtests.
    pub indent: usize,
    /// The line without its indentation.
    pub text: String,
}

impl DocLine {
    pub fn new(line: &str) -> Self {
        let line = line.trim_end();
        let text = line.trim_start();
        DocLine {
            indent: line.len() - text.len(),
            text: text.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
    Xfail,
    /// A subtest group whose own result line never came.
    Incomplete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Xfail => "XFAIL",
            Status::Incomplete => "INCOMPLETE",
        }
    }
}

/// The directives this parser knows; others fall back to the plain
/// ok / not ok result, as ktap.rst asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    Skip,
    Todo,
    Xfail,
    /// kselftest's runner: the test program ran out of time.
    Timeout,
    /// kselftest's ksft_test_result_error().
    Error,
    /// kselftest's ksft_test_result_xpass(): an expected failure passed.
    Xpass,
}

impl Directive {
    fn parse(word: &str) -> Option<Self> {
        [
            ("SKIP", Directive::Skip),
            ("TODO", Directive::Todo),
            ("XFAIL", Directive::Xfail),
            ("TIMEOUT", Directive::Timeout),
            ("ERROR", Directive::Error),
            ("XPASS", Directive::Xpass),
        ]
        .into_iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|(_, directive)| directive)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Directive::Skip => "SKIP",
            Directive::Todo => "TODO",
            Directive::Xfail => "XFAIL",
            Directive::Timeout => "TIMEOUT",
            Directive::Error => "ERROR",
            Directive::Xpass => "XPASS",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub name: String,
    /// The number on its result line; 0 for a group whose result never came.
    pub number: u64,
    pub status: Status,
    pub directive: Option<Directive>,
    /// The comment after '#' on the result line, less the directive word.
    pub reason: String,
    /// Diagnostic lines printed before the result line, verbatim.
    pub log: Vec<String>,
    pub subtests: Vec<Test>,
}

impl Test {
    /// Results of the leaf tests below (or of) this one.
    pub fn counts(&self) -> Counts {
        if self.subtests.is_empty() {
            return Counts::of(self.status);
        }
        let mut counts: Counts = self.subtests.iter().map(Test::counts).sum();
        // A parent can fail on its own, e.g. in suite init or exit.
        if self.status == Status::Fail && counts.fail == 0 {
            counts.fail += 1;
        }
        counts
    }

    /// "parent/child" paths of the failures that `counts` counts.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_failures("", &mut out);
        out
    }

    fn collect_failures(&self, parent: &str, out: &mut Vec<String>) {
        let path = if parent.is_empty() {
            self.name.clone()
        } else {
            format!("{parent}/{}", self.name)
        };
        let before = out.len();
        for test in &self.subtests {
            test.collect_failures(&path, out);
        }
        if self.status == Status::Fail && out.len() == before {
            out.push(path);
        }
    }

    /// The last diagnostic line logged before the first failure that
    /// `failures` lists, without its '#': what the test said about it.
    pub fn first_failure_note(&self) -> Option<&str> {
        if let Some(failed) = self.subtests.iter().find(|t| t.counts().fail > 0) {
            return failed.first_failure_note();
        }
        if self.status != Status::Fail {
            return None;
        }
        self.log
            .iter()
            .rev()
            .find_map(|line| line.strip_prefix('#'))
            .map(str::trim)
            .filter(|note| !note.is_empty())
    }

    /// `key: value` pairs of the diagnostic lines; the first of a repeated
    /// key wins.
    pub fn diagnostics(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (key, value) in self.log.iter().filter_map(|line| diagnostic_pair(line)) {
            if !pairs.iter().any(|(k, _)| *k == key) {
                pairs.push((key, value));
            }
        }
        pairs
    }
}

fn diagnostic_pair(line: &str) -> Option<(&str, &str)> {
    let body = line.strip_prefix('#')?.trim_start();
    let (key, value) = body.split_once(": ")?;
    let is_key = !key.is_empty() && !key.contains(char::is_whitespace);
    is_key.then(|| (key, value.trim()))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pass: u64,
    pub fail: u64,
    pub skip: u64,
    pub xfail: u64,
}

impl Counts {
    fn of(status: Status) -> Self {
        let mut counts = Counts::default();
        match status {
            Status::Pass => counts.pass = 1,
            Status::Fail => counts.fail = 1,
            Status::Skip => counts.skip = 1,
            Status::Xfail => counts.xfail = 1,
            // Its subtests, if any, carry the results.
            Status::Incomplete => {}
        }
        counts
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.skip += other.skip;
        self.xfail += other.xfail;
    }
}

impl Sum for Counts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Counts::default(), |mut total, counts| {
            total += counts;
            total
        })
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pass={} fail={} skip={}",
            self.pass, self.fail, self.skip
        )?;
        if self.xfail > 0 {
            write!(f, " xfail={}", self.xfail)?;
        }
        Ok(())
    }
}

/// If `line` ends in a "KTAP version N" or "TAP version N" line, the length
/// of the text before it, which kunit.py takes as the document's prefix.
pub fn version_prefix_len(line: &str) -> Option<usize> {
    const TAP: &str = "TAP version ";
    let at = line.rfind(TAP)?;
    let version = &line[at + TAP.len()..];
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if line[..at].ends_with('K') {
        at - 1
    } else {
        at
    })
}

fn is_version(text: &str) -> bool {
    version_prefix_len(text) == Some(0)
}

/// The N of a "1..N" plan line, which may carry a comment ("1..0 # SKIP").
pub fn plan_count(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("1..")?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let comment = rest[digits..].trim_start();
    if !comment.is_empty() && !comment.starts_with('#') {
        return None;
    }
    rest[..digits].parse().ok()
}

pub fn is_result(text: &str) -> bool {
    ResultLine::parse(text).is_some()
}

/// A line that still belongs to a document whose top-level plan is met:
/// a result or plan at any level (which breaks the plan), "Bail out!", or
/// kselftest's "# Totals".
pub fn is_late_line(text: &str) -> bool {
    let text = text.trim();
    matches!(
        classify(text),
        Some(Line::Result(_) | Line::Plan(_) | Line::BailOut(_))
    ) || Totals::parse(text).is_some()
}

/// An "ok N name # DIRECTIVE reason" or "not ok ..." line.
#[derive(Debug, PartialEq)]
struct ResultLine<'a> {
    ok: bool,
    number: u64,
    name: &'a str,
    directive: Option<Directive>,
    reason: &'a str,
}

impl<'a> ResultLine<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (ok, rest) = match text.strip_prefix("not ok") {
            Some(rest) => (false, rest),
            None => (true, text.strip_prefix("ok")?),
        };
        // The test number is mandatory; it also tells results apart from
        // ordinary words such as "okay".
        let rest = rest.strip_prefix(' ')?;
        let after_number = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if after_number.len() == rest.len()
            || !(after_number.is_empty() || after_number.starts_with(' '))
        {
            return None;
        }
        let number = rest[..rest.len() - after_number.len()].parse().ok()?;
        let rest = after_number.trim_start();
        // TAP 13 allows "ok 1 - name".
        let rest = rest.strip_prefix("- ").unwrap_or(rest);
        let (name, comment) = rest.split_once('#').unwrap_or((rest, ""));
        let comment = comment.trim();
        let (word, after_word) = comment
            .split_once(char::is_whitespace)
            .unwrap_or((comment, ""));
        let directive = Directive::parse(word);
        Some(ResultLine {
            ok,
            number,
            name: name.trim(),
            directive,
            reason: if directive.is_some() {
                after_word.trim()
            } else {
                comment
            },
        })
    }

    fn status(&self) -> Status {
        match (self.directive, self.ok) {
            (Some(Directive::Skip), _) => Status::Skip,
            // kselftest prints expected failures as "ok N # XFAIL".
            (Some(Directive::Xfail), _) => Status::Xfail,
            (Some(Directive::Todo), false) => Status::Xfail,
            // Whatever the ok says: the runner killed it, or it erred.
            (Some(Directive::Timeout | Directive::Error), _) => Status::Fail,
            (_, true) => Status::Pass,
            (_, false) => Status::Fail,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Line<'a> {
    Version,
    Plan(usize),
    Result(ResultLine<'a>),
    Subtest(&'a str),
    /// "Bail out! reason": the producer gave up; nothing after it counts.
    BailOut(&'a str),
    Diagnostic(&'a str),
}

/// What a document line is; `None` for lines KTAP does not define, such
/// as interleaved kernel messages.
fn classify(text: &str) -> Option<Line<'_>> {
    if is_version(text) {
        Some(Line::Version)
    } else if let Some(count) = plan_count(text) {
        Some(Line::Plan(count))
    } else if let Some(result) = ResultLine::parse(text) {
        Some(Line::Result(result))
    } else if let Some(reason) = text.strip_prefix("Bail out!") {
        Some(Line::BailOut(reason.trim()))
    } else if let Some(name) = text.strip_prefix("# Subtest:") {
        Some(Line::Subtest(name.trim()))
    } else if text.starts_with('#') {
        Some(Line::Diagnostic(text))
    } else {
        None
    }
}

/// The parsed form of one KTAP document.
#[derive(Debug, Default, PartialEq)]
pub struct Document {
    pub tests: Vec<Test>,
    /// False when a plan promised more results than came, or a subtest
    /// group never got its parent's result line: the run was cut short.
    pub complete: bool,
    /// Why it is not complete, one line per cut-short level.
    pub incomplete: Vec<String>,
    /// Broken rules that make the document a failure whatever its results
    /// say: more results than planned, a number out of order or repeated,
    /// "# Totals" that disagree with the results, "Bail out!".
    pub problems: Vec<String>,
}

pub fn parse_document(lines: &[DocLine]) -> Document {
    let mut parser = Parser {
        lines,
        pos: 0,
        incomplete: Vec::new(),
        problems: Vec::new(),
    };
    let block = parser.block(min_indent(lines));
    parser.check_block(&block, "top level");
    Document {
        tests: block.tests,
        complete: parser.incomplete.is_empty(),
        incomplete: parser.incomplete,
        problems: parser.problems,
    }
}

fn min_indent(lines: &[DocLine]) -> usize {
    lines
        .iter()
        .filter(|line| classify(&line.text).is_some())
        .map(|line| line.indent)
        .min()
        .unwrap_or(0)
}

/// kselftest's "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N",
/// printed by ksft_print_cnts() after a program's last result. KUnit's
/// "# Totals: pass:N fail:N skip:N total:N" counts the test cases of all
/// suites, not the results of its level, and is not one of these.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    pass: u64,
    fail: u64,
    xfail: u64,
    xpass: u64,
    skip: u64,
    error: u64,
}

impl Totals {
    fn parse(text: &str) -> Option<Self> {
        let rest = text
            .strip_prefix('#')?
            .trim_start()
            .strip_prefix("Totals:")?;
        let mut totals = Totals::default();
        for word in rest.split_whitespace() {
            let (key, value) = word.split_once(':')?;
            let value = value.parse().ok()?;
            let field = match key {
                "pass" => &mut totals.pass,
                "fail" => &mut totals.fail,
                "xfail" => &mut totals.xfail,
                "xpass" => &mut totals.xpass,
                "skip" => &mut totals.skip,
                "error" => &mut totals.error,
                _ => return None,
            };
            *field = value;
        }
        Some(totals)
    }

    /// What the result lines of one level add up to, in kselftest's terms.
    fn of(tests: &[Test]) -> Self {
        let mut totals = Totals::default();
        for test in tests {
            let field = match (test.status, test.directive) {
                (Status::Pass, Some(Directive::Xpass)) => &mut totals.xpass,
                (Status::Pass, _) => &mut totals.pass,
                (Status::Fail, Some(Directive::Error)) => &mut totals.error,
                (Status::Fail, _) => &mut totals.fail,
                (Status::Skip, _) => &mut totals.skip,
                (Status::Xfail, _) => &mut totals.xfail,
                (Status::Incomplete, _) => continue,
            };
            *field += 1;
        }
        totals
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pass:{} fail:{} xfail:{} xpass:{} skip:{} error:{}",
            self.pass, self.fail, self.xfail, self.xpass, self.skip, self.error
        )
    }
}

/// The tests at one indentation level.
#[derive(Debug, Default)]
struct Block {
    /// From "# Subtest: name".
    name: Option<String>,
    plan: Option<usize>,
    /// Diagnostics before the plan: they describe the group as a whole
    /// and go to its parent test.
    header_log: Vec<String>,
    tests: Vec<Test>,
    /// The last "# Totals" line at this level.
    totals: Option<Totals>,
    /// The reason of a "Bail out!" at this level.
    bail_out: Option<String>,
}

impl Block {
    fn started(&self) -> bool {
        self.plan.is_some() || !self.tests.is_empty()
    }
}

/// What has been seen at one level since its last result line.
#[derive(Debug, Default)]
struct Pending {
    log: Vec<String>,
    /// From a "# Subtest:" line at this level (the pre-KTAP style).
    name: Option<String>,
    /// Subtests that the next result line is the parent of.
    group: Option<Block>,
}

impl Pending {
    fn absorb(&mut self, mut group: Block) {
        self.log.append(&mut group.header_log);
        match &mut self.group {
            None => self.group = Some(group),
            // The same group, interrupted by a line of lower indentation.
            Some(existing) => {
                existing.tests.append(&mut group.tests);
                existing.plan = existing.plan.or(group.plan);
                existing.name = existing.name.take().or(group.name);
                existing.totals = group.totals.or(existing.totals);
                existing.bail_out = existing.bail_out.take().or(group.bail_out);
            }
        }
    }
}

struct Parser<'a> {
    lines: &'a [DocLine],
    pos: usize,
    incomplete: Vec<String>,
    problems: Vec<String>,
}

impl Parser<'_> {
    /// Parses the tests at `indent`, up to a line of lower indentation.
    fn block(&mut self, indent: usize) -> Block {
        let lines = self.lines;
        let mut block = Block::default();
        let mut pending = Pending::default();
        // Between kselftest_harness's "#  RUN name ..." and its verdict.
        let mut harness_body = false;
        while let Some(line) = lines.get(self.pos) {
            let Some(kind) = classify(&line.text) else {
                // Kernel messages interleave anywhere, at any indentation.
                self.pos += 1;
                continue;
            };
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                let group = self.block(line.indent);
                pending.absorb(group);
                continue;
            }
            self.pos += 1;
            match kind {
                Line::Version => {}
                Line::Plan(count) => {
                    block.plan = block.plan.or(Some(count));
                    if block.tests.is_empty() {
                        block.header_log.append(&mut pending.log);
                    }
                }
                Line::Subtest(name) if block.started() => pending.name = Some(name.to_string()),
                Line::Subtest(name) => block.name = Some(name.to_string()),
                Line::BailOut(reason) => block.bail_out = Some(reason.to_string()),
                Line::Diagnostic(text) if is_version(kselftest_nested(text)) => {
                    let group = self.kselftest_group(indent);
                    pending.absorb(group);
                }
                Line::Diagnostic(text) => {
                    if let Some(totals) = Totals::parse(text) {
                        block.totals = Some(totals);
                    }
                    if harness_body {
                        harness_body = !is_harness_end(text);
                    } else {
                        harness_body = is_harness_run(text);
                    }
                    pending.log.push(text.to_string());
                }
                Line::Result(result) if harness_body => {
                    // ksft results printed inside a kselftest_harness test
                    // (the futex tests do): the test's own, not this level's.
                    let test = self.finish_test(result, Pending::default());
                    pending
                        .group
                        .get_or_insert_with(Block::default)
                        .tests
                        .push(test);
                }
                Line::Result(result) => {
                    let test = self.finish_test(result, std::mem::take(&mut pending));
                    block.tests.push(test);
                }
            }
        }
        if let Some(group) = pending.group {
            // The run stopped inside the group, before its parent's result.
            let name = group.name.clone().or(pending.name).unwrap_or_default();
            self.check_block(&group, &name);
            self.incomplete
                .push(format!("{name}: its subtests never got their result line"));
            block.tests.push(Test {
                name,
                number: 0,
                status: Status::Incomplete,
                directive: None,
                reason: String::new(),
                log: pending.log,
                subtests: group.tests,
            });
        }
        block
    }

    fn finish_test(&mut self, result: ResultLine, pending: Pending) -> Test {
        let subtests = match pending.group {
            Some(group) => {
                self.check_block(&group, result.name);
                group.tests
            }
            None => Vec::new(),
        };
        Test {
            name: result.name.to_string(),
            number: result.number,
            status: result.status(),
            directive: result.directive,
            reason: result.reason.to_string(),
            log: pending.log,
            subtests,
        }
    }

    /// The rules of one level, once all of it has been seen; `label` names
    /// the level in the messages.
    fn check_block(&mut self, block: &Block, label: &str) {
        let label = if label.is_empty() { "(unnamed)" } else { label };
        let results: Vec<&Test> = block
            .tests
            .iter()
            .filter(|test| test.status != Status::Incomplete)
            .collect();
        if let Some(planned) = block.plan {
            let text = format!(
                "{label}: plan 1..{planned}, but {} results came",
                results.len()
            );
            match results.len().cmp(&planned) {
                std::cmp::Ordering::Less => self.incomplete.push(text),
                std::cmp::Ordering::Greater => self.problems.push(text),
                std::cmp::Ordering::Equal => {}
            }
        }
        for (index, test) in results.iter().enumerate() {
            let expected = index as u64 + 1;
            if test.number != expected {
                self.problems.push(format!(
                    "{label}: result {expected} is numbered {} ({}): out of order, repeated or a result lost",
                    test.number, test.name
                ));
                // One message per level: the rest follow from it.
                break;
            }
        }
        if let Some(totals) = block.totals {
            let seen = Totals::of(&block.tests);
            if totals != seen {
                self.problems.push(format!(
                    "{label}: \"# Totals: {totals}\", but the results say {seen}"
                ));
            }
        }
        if let Some(reason) = &block.bail_out {
            self.problems.push(format!("{label}: Bail out! {reason}"));
        }
    }

    /// Parses the "# "-prefixed lines after kselftest's nested "# TAP
    /// version" line as the subtests of the result line that ends them.
    fn kselftest_group(&mut self, indent: usize) -> Block {
        let lines = self.lines;
        let mut inner = Vec::new();
        while let Some(line) = lines.get(self.pos) {
            let nested = line.indent == indent && line.text.starts_with('#');
            if !nested && classify(&line.text).is_some() {
                break;
            }
            if nested {
                inner.push(DocLine::new(kselftest_nested(&line.text)));
            }
            self.pos += 1;
        }
        let mut parser = Parser {
            lines: &inner,
            pos: 0,
            incomplete: Vec::new(),
            problems: Vec::new(),
        };
        let group = parser.block(min_indent(&inner));
        self.incomplete.append(&mut parser.incomplete);
        self.problems.append(&mut parser.problems);
        group
    }
}

/// kselftest_harness's "#  RUN           fixture.test ..." that opens a test.
fn is_harness_run(text: &str) -> bool {
    let body = text.trim_start_matches('#').trim();
    body.strip_prefix("RUN ")
        .is_some_and(|rest| rest.ends_with(" ..."))
}

/// kselftest_harness's "#            OK  fixture.test" (or FAIL, SKIP,
/// XFAIL, XPASS) that closes a test.
fn is_harness_end(text: &str) -> bool {
    let body = text.trim_start_matches('#').trim();
    let mut words = body.split_whitespace();
    matches!(
        words.next(),
        Some("OK" | "FAIL" | "SKIP" | "XFAIL" | "XPASS")
    ) && words.next().is_some()
        && words.next().is_none()
}

/// The text of a kselftest-nested line: "# ok 1 foo" -> "ok 1 foo".
fn kselftest_nested(text: &str) -> &str {
    let rest = text.strip_prefix('#').unwrap_or(text);
    rest.strip_prefix(' ').unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Document {
        let lines: Vec<DocLine> = text.lines().map(DocLine::new).collect();
        parse_document(&lines)
    }

    fn total(doc: &Document) -> Counts {
        doc.tests.iter().map(Test::counts).sum()
    }

    fn counts(pass: u64, fail: u64, skip: u64, xfail: u64) -> Counts {
        Counts {
            pass,
            fail,
            skip,
            xfail,
        }
    }

    #[test]
    fn version_prefix() {
        assert_eq!(version_prefix_len("KTAP version 1"), Some(0));
        assert_eq!(version_prefix_len("TAP version 13"), Some(0));
        assert_eq!(version_prefix_len("    KTAP version 1"), Some(4));
        assert_eq!(version_prefix_len("# TAP version 13"), Some(2));
        assert_eq!(version_prefix_len("foo: KTAP version 1"), Some(5));
        assert_eq!(version_prefix_len("KTAP version"), None);
        assert_eq!(version_prefix_len("KTAP version 1 extra"), None);
        assert_eq!(version_prefix_len("TAP version x"), None);
    }

    #[test]
    fn plan_lines() {
        assert_eq!(plan_count("1..5"), Some(5));
        assert_eq!(plan_count("1..0 # SKIP no hardware"), Some(0));
        assert_eq!(plan_count("1..5 tests"), None);
        assert_eq!(plan_count("1.."), None);
        assert_eq!(plan_count("2..5"), None);
    }

    #[test]
    fn result_lines() {
        let r = ResultLine::parse("ok 1 foo").unwrap();
        assert_eq!(
            (r.ok, r.name, r.directive, r.reason),
            (true, "foo", None, "")
        );
        let r = ResultLine::parse("not ok 12 - bar baz # SKIP no device").unwrap();
        assert_eq!(
            (r.ok, r.name, r.directive, r.reason),
            (false, "bar baz", Some(Directive::Skip), "no device")
        );
        let r = ResultLine::parse("ok 3 # xfail known issue").unwrap();
        assert_eq!(
            (r.name, r.directive, r.reason),
            ("", Some(Directive::Xfail), "known issue")
        );
        let r = ResultLine::parse("not ok 1 selftests: net: socket # exit=1").unwrap();
        assert_eq!(
            (r.name, r.directive, r.reason),
            ("selftests: net: socket", None, "exit=1")
        );
        // The directive is kept, not folded into the reason.
        let r = ResultLine::parse("not ok 2 t # TIMEOUT 45 seconds").unwrap();
        assert_eq!(
            (r.status(), r.directive, r.reason),
            (Status::Fail, Some(Directive::Timeout), "45 seconds")
        );
        let r = ResultLine::parse("not ok 3 # error cannot open").unwrap();
        assert_eq!(
            (r.status(), r.directive, r.number),
            (Status::Fail, Some(Directive::Error), 3)
        );
        let r = ResultLine::parse("ok 4 # XPASS fixed").unwrap();
        assert_eq!(
            (r.status(), r.directive),
            (Status::Pass, Some(Directive::Xpass))
        );
        // Even an "ok" that timed out is a failure.
        assert_eq!(
            ResultLine::parse("ok 5 t # TIMEOUT").unwrap().status(),
            Status::Fail
        );
        assert!(ResultLine::parse("ok 7").is_some());
        for not_result in [
            "okay 1 x", "ok x", "ok", "not ok", "ok 1x", "# ok 1 x", "ok  1 x",
        ] {
            assert_eq!(ResultLine::parse(not_result), None, "{not_result}");
        }
    }

    #[test]
    fn directive_statuses() {
        let status = |line| ResultLine::parse(line).unwrap().status();
        assert_eq!(status("ok 1 a"), Status::Pass);
        assert_eq!(status("not ok 1 a"), Status::Fail);
        assert_eq!(status("ok 1 a # SKIP"), Status::Skip);
        assert_eq!(status("not ok 1 a # skip why"), Status::Skip);
        assert_eq!(status("not ok 1 a # XFAIL"), Status::Xfail);
        assert_eq!(status("ok 1 a # XFAIL"), Status::Xfail);
        assert_eq!(status("not ok 1 a # TODO later"), Status::Xfail);
        assert_eq!(status("ok 1 a # TODO later"), Status::Pass);
        assert_eq!(status("not ok 1 a # SKIPPED"), Status::Fail);
    }

    #[test]
    fn nested_ktap_with_directives() {
        let doc = parse(
            "KTAP version 1
1..2
    KTAP version 1
    # Subtest: example
    # module: kunit_example_test
    1..5
    # example_simple_test: initializing
    ok 1 example_simple_test
    ok 2 example_skip_test # SKIP this test should be skipped
    not ok 3 example_xfail_test # XFAIL expected to fail
    not ok 4 example_todo_test # TODO not implemented yet
        KTAP version 1
        # Subtest: example_params_test
        ok 1 example value 3
        ok 2 example value 2 # SKIP unsupported
    # example_params_test: pass:1 fail:0 skip:1 total:2
    ok 5 example_params_test
# example: pass:3 fail:0 skip:2 total:5
ok 1 example
    KTAP version 1
    # Subtest: other
    1..1
    not ok 1 broken # fails
not ok 2 other
",
        );
        assert!(doc.complete);
        assert_eq!(total(&doc), counts(2, 1, 2, 2));
        let example = &doc.tests[0];
        assert_eq!(example.name, "example");
        assert_eq!(example.status, Status::Pass);
        assert_eq!(
            example.log,
            [
                "# module: kunit_example_test",
                "# example: pass:3 fail:0 skip:2 total:5"
            ]
        );
        let names: Vec<_> = example.subtests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "example_simple_test",
                "example_skip_test",
                "example_xfail_test",
                "example_todo_test",
                "example_params_test"
            ]
        );
        let simple = &example.subtests[0];
        assert_eq!(simple.log, ["# example_simple_test: initializing"]);
        assert_eq!(
            simple.diagnostics(),
            [("example_simple_test", "initializing")]
        );
        let skip = &example.subtests[1];
        assert_eq!(
            (skip.status, skip.directive, skip.reason.as_str()),
            (
                Status::Skip,
                Some(Directive::Skip),
                "this test should be skipped"
            )
        );
        assert_eq!(example.subtests[3].directive, Some(Directive::Todo));
        let params = &example.subtests[4];
        assert_eq!(params.subtests.len(), 2);
        assert_eq!(
            params.log,
            ["# example_params_test: pass:1 fail:0 skip:1 total:2"]
        );
        assert_eq!(doc.tests[1].failures(), ["other/broken"]);
    }

    #[test]
    fn parent_failing_with_passing_children_is_a_failure() {
        let doc = parse(
            "KTAP version 1
1..1
    KTAP version 1
    # Subtest: suite
    1..2
    ok 1 a
    ok 2 b
not ok 1 suite
",
        );
        assert_eq!(total(&doc), counts(2, 1, 0, 0));
        assert_eq!(doc.tests[0].failures(), ["suite"]);
    }

    #[test]
    fn failing_parent_of_failing_child_counts_once() {
        let doc = parse(
            "KTAP version 1
1..1
    1..2
    ok 1 a
    not ok 2 b
not ok 1 suite
",
        );
        assert_eq!(total(&doc), counts(1, 1, 0, 0));
        assert_eq!(doc.tests[0].failures(), ["suite/b"]);
    }

    #[test]
    fn wider_indentation_still_nests() {
        let doc = parse(
            "KTAP version 1
1..1
        KTAP version 1
        1..1
                ok 1 deep
        ok 1 middle
ok 1 top
",
        );
        assert!(doc.complete);
        assert_eq!(doc.tests[0].subtests[0].subtests[0].name, "deep");
        assert_eq!(total(&doc), counts(1, 0, 0, 0));
    }

    #[test]
    fn interleaved_kernel_lines_are_ignored() {
        let doc = parse(
            "KTAP version 1
1..1
    KTAP version 1
    # Subtest: suite
    1..2
random: crng init done
    ok 1 a
  some continuation line
    ok 2 b
ok 1 suite
",
        );
        assert!(doc.complete);
        assert_eq!(doc.tests[0].subtests.len(), 2);
        assert_eq!(total(&doc), counts(2, 0, 0, 0));
    }

    #[test]
    fn group_split_by_lower_level_line_is_merged() {
        let doc = parse(
            "KTAP version 1
1..1
    1..2
    ok 1 a
# stray diagnostic
    ok 2 b
ok 1 suite
",
        );
        assert!(doc.complete);
        assert_eq!(doc.tests[0].subtests.len(), 2);
    }

    #[test]
    fn short_plan_is_incomplete() {
        let doc = parse("KTAP version 1\n1..3\nok 1 a\nok 2 b\n");
        assert!(!doc.complete);
        assert_eq!(total(&doc), counts(2, 0, 0, 0));
        assert!(parse("KTAP version 1\n1..2\nok 1 a\nok 2 b\n").complete);
        assert!(parse("KTAP version 1\n1..0 # SKIP nothing to do\n").complete);
    }

    #[test]
    fn short_nested_plan_is_incomplete() {
        let doc = parse("KTAP version 1\n1..1\n    1..3\n    ok 1 a\nok 1 suite\n");
        assert!(!doc.complete);
    }

    #[test]
    fn group_without_parent_result_is_incomplete() {
        let doc = parse(
            "KTAP version 1
1..1
    KTAP version 1
    # Subtest: rust_doctests_kernel
    1..3
    ok 1 rust_doctest_kernel_a
    ok 2 rust_doctest_kernel_b
",
        );
        assert!(!doc.complete);
        let suite = &doc.tests[0];
        assert_eq!(
            (suite.name.as_str(), suite.status),
            ("rust_doctests_kernel", Status::Incomplete)
        );
        assert_eq!(total(&doc), counts(2, 0, 0, 0));
    }

    #[test]
    fn old_style_subtest_header_names_the_group() {
        let doc = parse("TAP version 14\n1..1\n# Subtest: suite\n    1..2\n    ok 1 a\n");
        assert_eq!(doc.tests[0].name, "suite");
    }

    #[test]
    fn kselftest_output_with_nested_tap() {
        let doc = parse(
            "TAP version 13
1..3
# timeout set to 45
# selftests: net: socket
# TAP version 13
# 1..3
# # Starting 3 tests
# ok 1 socket_create
# ok 2 socket_bind # SKIP no IPv6
# not ok 3 socket_listen # XFAIL known
# # Totals: pass:1 fail:0 xfail:1 xpass:0 skip:1 error:0
ok 1 selftests: net: socket
# timeout set to 45
# selftests: net: reuseport_bpf
# reuseport_bpf: WARNING: something odd
# bind: Address already in use
not ok 2 selftests: net: reuseport_bpf # exit=1
# selftests: net: udpgso
# TAP version 13
# 1..2
# #  RUN           udpgso.ipv4 ...
# #            OK  udpgso.ipv4
# ok 1 udpgso.ipv4
# ok 2 udpgso.ipv6
not ok 3 selftests: net: udpgso # exit=1
",
        );
        assert!(doc.complete);
        assert_eq!(total(&doc), counts(3, 2, 1, 1));
        let socket = &doc.tests[0];
        assert_eq!(socket.name, "selftests: net: socket");
        assert_eq!(
            socket.log,
            ["# timeout set to 45", "# selftests: net: socket"]
        );
        assert_eq!(socket.diagnostics(), [("selftests", "net: socket")]);
        assert_eq!(socket.subtests.len(), 3);
        assert_eq!(socket.subtests[0].log, ["# Starting 3 tests"]);
        let reuseport = &doc.tests[1];
        assert!(reuseport.subtests.is_empty());
        assert_eq!(reuseport.reason, "exit=1");
        assert_eq!(
            reuseport.diagnostics(),
            [
                ("selftests", "net: reuseport_bpf"),
                ("reuseport_bpf", "WARNING: something odd"),
                ("bind", "Address already in use")
            ]
        );
        assert_eq!(
            doc.tests[2].subtests[0].log,
            [
                "#  RUN           udpgso.ipv4 ...",
                "#            OK  udpgso.ipv4"
            ]
        );
        assert_eq!(doc.tests[2].failures(), ["selftests: net: udpgso"]);
    }

    #[test]
    fn kselftest_nested_output_survives_kernel_lines() {
        let doc = parse(
            "TAP version 13
1..1
# selftests: x: y
# TAP version 13
# 1..2
# ok 1 a
ext4: mounted filesystem
# ok 2 b
ok 1 selftests: x: y
",
        );
        assert!(doc.complete);
        assert_eq!(doc.tests[0].subtests.len(), 2);
    }

    #[test]
    fn kselftest_short_nested_plan_is_incomplete() {
        let doc = parse("TAP version 13\n1..1\n# TAP version 13\n# 1..3\n# ok 1 a\nok 1 t\n");
        assert!(!doc.complete);
    }

    #[test]
    fn diagnostics_keep_first_value_and_skip_non_pairs() {
        let test = Test {
            name: "t".into(),
            number: 1,
            status: Status::Pass,
            directive: None,
            reason: String::new(),
            log: vec![
                "# a: 1".into(),
                "# just text".into(),
                "# a: 2".into(),
                "# two words: no".into(),
                "#b:  spaced ".into(),
            ],
            subtests: vec![],
        };
        assert_eq!(test.diagnostics(), [("a", "1"), ("b", "spaced")]);
    }

    #[test]
    fn more_results_than_planned_is_a_problem() {
        let doc = parse("KTAP version 1\n1..1\nok 1 suite\nnot ok 2 x\n");
        assert_eq!(doc.problems, ["top level: plan 1..1, but 2 results came"]);
        let doc =
            parse("KTAP version 1\n1..1\n    1..2\n    ok 1 a\n    ok 2 b\n    ok 3 c\nok 1 s\n");
        assert_eq!(doc.problems, ["s: plan 1..2, but 3 results came"]);
        assert!(doc.complete);
    }

    #[test]
    fn short_plan_names_the_counts() {
        let doc = parse("KTAP version 1\n1..3\nok 1 a\n");
        assert_eq!(doc.incomplete, ["top level: plan 1..3, but 1 results came"]);
    }

    #[test]
    fn numbers_out_of_order_or_repeated_are_problems() {
        // A kernel message glued in front of "ok 2 b" hides it.
        let doc = parse("KTAP version 1\n1..3\nok 1 a\nfoo: barok 2 b\nok 3 c\n");
        assert_eq!(
            doc.problems,
            ["top level: result 2 is numbered 3 (c): out of order, repeated or a result lost"]
        );
        assert!(!doc.complete);
        let doc = parse("KTAP version 1\n1..2\nok 1 a\nok 1 a\n");
        assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
        let doc = parse("KTAP version 1\n1..2\nok 1 a\n    1..1\n    ok 2 x\nok 2 b\n");
        assert_eq!(
            doc.problems,
            ["b: result 1 is numbered 2 (x): out of order, repeated or a result lost"]
        );
    }

    #[test]
    fn numbering_continues_across_a_split_group() {
        let doc = parse("KTAP version 1\n1..1\n    1..2\n    ok 1 a\n# x\n    ok 2 b\nok 1 s\n");
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    }

    #[test]
    fn totals_are_cross_checked() {
        let good = "TAP version 13\n1..1\n# TAP version 13\n# 1..3\n# ok 1 a\n# ok 2 b # SKIP n\n\
                    # not ok 3 c # XFAIL k\n# # Totals: pass:1 fail:0 xfail:1 xpass:0 skip:1 error:0\n\
                    ok 1 selftests: x: y\n";
        assert!(
            parse(good).problems.is_empty(),
            "{:?}",
            parse(good).problems
        );
        let bad = good.replace("pass:1 fail:0", "pass:1 fail:1");
        assert_eq!(
            parse(&bad).problems,
            [
                "selftests: x: y: \"# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0\", \
              but the results say pass:1 fail:0 xfail:1 xpass:0 skip:1 error:0"
            ]
        );
        // At the top level too, as tests/selftests/proxy_exec prints it.
        let top = "KTAP version 1\n1..2\nok 1 a\nnot ok 2 b\n# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n";
        assert_eq!(parse(top).problems.len(), 1);
        let errors = "KTAP version 1\n1..2\nnot ok 1 # error e\nok 2 # XPASS p\n\
                      # Totals: pass:0 fail:0 xfail:0 xpass:1 skip:0 error:1\n";
        assert!(
            parse(errors).problems.is_empty(),
            "{:?}",
            parse(errors).problems
        );
    }

    #[test]
    fn bail_out_is_a_problem() {
        let doc = parse("KTAP version 1\n1..2\nok 1 a\nBail out! no device\n");
        assert_eq!(doc.problems, ["top level: Bail out! no device"]);
        assert!(!doc.complete);
        let nested = "TAP version 13\n1..1\n# TAP version 13\n# 1..2\n# Bail out! cannot run\nnot ok 1 selftests: a: b # exit=1\n";
        assert_eq!(
            parse(nested).problems,
            ["selftests: a: b: Bail out! cannot run"]
        );
    }

    #[test]
    fn counts_display() {
        assert_eq!(counts(40, 0, 1, 0).to_string(), "pass=40 fail=0 skip=1");
        assert_eq!(
            counts(1, 2, 3, 4).to_string(),
            "pass=1 fail=2 skip=3 xfail=4"
        );
    }
}
