//! Rackscope importer for bluebanquise (work in progress).
