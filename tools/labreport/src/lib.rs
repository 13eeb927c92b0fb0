//! labreport: turns the serial console log of a QEMU kernel test run into a
//! verdict, a JSON report and a short human summary, and merges several
//! such reports into one.

pub mod bench;
pub mod cli;
pub mod console;
pub mod json;
pub mod ktap;
pub mod report;
pub mod splat;
pub mod summary;
