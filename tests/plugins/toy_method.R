#!/usr/bin/env Rscript
# A toy R integration method, the worked example of adding an R method (README, "Adding a
# method"): per-batch centred PCA of the log-normalised HVGs. It speaks the exchange format
# of claire.bench.methods.rscript: read the folder given as the only argument, write
# embedding.csv there (and optionally uns.json with run statistics).
suppressPackageStartupMessages({
  library(Matrix)
  library(jsonlite)
})

dir <- commandArgs(trailingOnly = TRUE)[1]
params <- fromJSON(file.path(dir, "params.json"))
# The parameters and their defaults (the workflow checks config parameters against these names).
DEFAULTS <- list(n_comps = 10)
n_comps <- if (is.null(params$n_comps)) DEFAULTS$n_comps else params$n_comps
set.seed(params$seed)
cells <- read.csv(file.path(dir, "cells.csv"), stringsAsFactors = FALSE)
logcounts <- t(as.matrix(readMM(file.path(dir, "logcounts.mtx"))))  # cells x genes
scores <- prcomp(logcounts, center = TRUE, scale. = FALSE, rank. = n_comps)$x
for (b in unique(cells$batch)) {
  rows <- cells$batch == b
  scores[rows, ] <- sweep(scores[rows, , drop = FALSE], 2, colMeans(scores[rows, , drop = FALSE]))
}
out <- data.frame(cell = cells$cell, scores, check.names = FALSE)
tmp <- file.path(dir, "embedding.csv.tmp")
write.csv(out, tmp, row.names = FALSE)
file.rename(tmp, file.path(dir, "embedding.csv"))
write(toJSON(list(toy_r = list(batches = length(unique(cells$batch)))), auto_unbox = TRUE),
      file.path(dir, "uns.json"))
