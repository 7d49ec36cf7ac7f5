# The rscript exchange format (claire.bench.methods.rscript), read by the R methods:
# sourced by seurat_integrate.R and ismnn_integrate.R (not a workflow script itself).
#
#   counts.mtx, logcounts.mtx  genes x cells Matrix Market (raw counts, log-normalised HVGs)
#   genes.csv                  column "gene", one row per matrix row
#   cells.csv                  column "cell", "batch" and any others, one row per matrix column
#   params.json                seed and the method's parameters

suppressPackageStartupMessages({
  library(Matrix)
  library(jsonlite)
})

# read_exchange_files(dir, cell_columns, required): the matrices with genes x cells
# dimnames, the cells table (every column read as text, no NA strings) and params; stops
# with a message when a column of cells.csv or a parameter is missing or shapes disagree.
read_exchange_files <- function(dir, cell_columns = c("cell", "batch"), required = "seed") {
  # Seurat turns "_" in feature names into "-"; do it here, keeping the names unique.
  genes <- make.unique(gsub("_", "-", read.csv(file.path(dir, "genes.csv"))$gene, fixed = TRUE))
  cells <- read.csv(file.path(dir, "cells.csv"), colClasses = "character",
                    na.strings = character())
  if (!all(cell_columns %in% names(cells))) {
    stop("cells.csv needs the columns ", paste(cell_columns, collapse = ", "))
  }
  counts <- as(readMM(file.path(dir, "counts.mtx")), "CsparseMatrix")
  logcounts <- as(readMM(file.path(dir, "logcounts.mtx")), "CsparseMatrix")
  for (m in list(counts, logcounts)) {
    if (nrow(m) != length(genes) || ncol(m) != nrow(cells)) {
      stop(sprintf("matrix is %d x %d but there are %d genes and %d cells",
                   nrow(m), ncol(m), length(genes), nrow(cells)))
    }
  }
  dimnames(counts) <- list(genes, cells$cell)
  dimnames(logcounts) <- list(genes, cells$cell)
  params <- fromJSON(file.path(dir, "params.json"))
  missing <- setdiff(required, names(params))
  if (length(missing)) stop("params.json lacks ", paste(missing, collapse = ", "))
  list(counts = counts, logcounts = logcounts, cells = cells, params = params)
}
