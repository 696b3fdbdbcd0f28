//! Rackscope importer for racksdb (work in progress).
