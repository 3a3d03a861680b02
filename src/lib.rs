//! voiceflowd: a local batch-transcription daemon built on whisper.cpp.

pub mod app;
pub mod audio;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod convert;
pub mod engine;
pub mod fsutil;
pub mod inbox;
pub mod job;
pub mod logging;
pub mod model;
pub mod outbox;
pub mod scheduler;
pub mod sd;
pub mod signals;
pub mod store;
pub mod transcript;
