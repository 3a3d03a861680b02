//! End-to-end tests: the real `voiceflowd` binary, the real tiny.en model, real speech.

mod batches;
mod control;
mod daemon;
mod harness;
mod service;
mod transcribe;
