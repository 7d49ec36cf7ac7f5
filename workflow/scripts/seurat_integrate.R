#!/usr/bin/env Rscript
# Seurat v4 CCA integration (Stuart et al. 2019) of one preprocessed dataset.
#
# Usage: Rscript seurat_integrate.R EXCHANGE_DIR
#
# EXCHANGE_DIR is written by claire.bench.methods.seurat.export_inputs():
#   counts.mtx, logcounts.mtx  genes x cells Matrix Market (raw counts, log-normalised HVGs)
#   genes.csv                  column "gene", one row per matrix row
#   cells.csv                  columns "cell", "batch", one row per matrix column
#   params.json                seed and any of dims, npcs, k_anchor, k_filter, k_score, k_weight
#                              (defaults: DEFAULTS below)
# The script writes EXCHANGE_DIR/embedding.csv (column "cell", then PC_1..PC_npcs) via a
# temporary file and a rename, so the file exists completely or not at all. Errors stop
# the script with a non-zero exit status; the Python side records the failure.
#
# Steps, as in the Seurat v4 integration vignette: split by batch, FindIntegrationAnchors
# (CCA, anchor features = the dataset's HVGs), IntegrateData, ScaleData, RunPCA. The
# log-normalised data comes from the Python preprocessing (same formula as Seurat's
# LogNormalize with scale factor 1e4), so every method sees the same input.

suppressPackageStartupMessages(library(Seurat))
# the exchange-format reader (and Matrix, jsonlite), beside this script, run or sourced
here <- if (sys.nframe() > 0L) sys.frame(1)$ofile else
  sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
source(file.path(dirname(normalizePath(here)), "r_exchange.R"))

log_line <- function(...) message(format(Sys.time(), "%Y-%m-%d %H:%M:%S"), " seurat: ", ...)

# Seurat's neighbour counts must stay below the smallest batch; shrink them when needed.
clamp <- function(value, limit, name) {
  if (value > limit) {
    log_line(sprintf("%s=%d exceeds what the smallest batch allows; using %d", name, value, limit))
    return(limit)
  }
  value
}

# The method's parameters and their defaults (the Seurat v4 vignette's); params.json
# overrides them, and a name not listed here is an error.
DEFAULTS <- list(dims = 30, npcs = 50, k_anchor = 5, k_filter = 200, k_score = 30, k_weight = 100)

method_params <- function(given) {
  unknown <- setdiff(names(given), c("seed", names(DEFAULTS)))
  if (length(unknown) > 0) {
    stop(sprintf("unknown parameter(s) %s; known: %s", paste(unknown, collapse = ", "),
                 paste(names(DEFAULTS), collapse = ", ")))
  }
  modifyList(DEFAULTS, given)
}

integrate_cca <- function(data) {
  p <- method_params(data$params)
  set.seed(p$seed)
  obj <- CreateSeuratObject(counts = data$counts, project = "claire")
  obj <- SetAssayData(obj, slot = "data", new.data = data$logcounts)
  obj$batch <- data$cells$batch
  features <- rownames(obj)
  batches <- SplitObject(obj, split.by = "batch")
  smallest <- min(vapply(batches, ncol, integer(1)))
  log_line(sprintf("%d cells, %d genes, %d batches (smallest %d cells)",
                   ncol(obj), length(features), length(batches), smallest))
  dims <- seq_len(clamp(p$dims, smallest - 1, "dims"))
  log_line("FindIntegrationAnchors (CCA)")
  anchors <- FindIntegrationAnchors(
    object.list = batches, anchor.features = features, reduction = "cca", dims = dims,
    k.anchor = clamp(p$k_anchor, smallest - 1, "k_anchor"),
    k.filter = clamp(p$k_filter, smallest - 1, "k_filter"),
    k.score = clamp(p$k_score, smallest - 1, "k_score"), verbose = FALSE
  )
  log_line(sprintf("%d anchors; IntegrateData", nrow(anchors@anchors)))
  integrated <- IntegrateData(
    anchorset = anchors, features.to.integrate = features, dims = dims,
    k.weight = clamp(p$k_weight, smallest - 1, "k_weight"), verbose = FALSE
  )
  DefaultAssay(integrated) <- "integrated"
  log_line("ScaleData and RunPCA")
  integrated <- ScaleData(integrated, verbose = FALSE)
  npcs <- min(p$npcs, ncol(integrated) - 1, length(features) - 1)
  integrated <- RunPCA(integrated, npcs = npcs, seed.use = p$seed, verbose = FALSE)
  emb <- Embeddings(integrated, "pca")
  emb[colnames(obj), , drop = FALSE]
}

write_embedding <- function(emb, dir) {
  out <- data.frame(cell = rownames(emb), emb, check.names = FALSE)
  tmp <- file.path(dir, ".embedding.csv.tmp")
  write.csv(out, tmp, row.names = FALSE)
  if (!file.rename(tmp, file.path(dir, "embedding.csv"))) stop("cannot rename ", tmp)
}

main <- function() {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) != 1) stop("usage: Rscript seurat_integrate.R EXCHANGE_DIR")
  dir <- args[[1]]
  log_line("Seurat ", as.character(packageVersion("Seurat")), ", reading ", dir)
  emb <- integrate_cca(read_exchange_files(dir))
  write_embedding(emb, dir)
  log_line(sprintf("wrote a %d x %d embedding", nrow(emb), ncol(emb)))
}

main()
