#!/usr/bin/env Rscript
# The authors' iSMNN (yycunc/iSMNN @ 318ff08) on an exchange folder of our iSMNN run.
#
# Usage: Rscript ismnn_authors.R AUTHORS_R_DIR EXCHANGE_DIR
#
# AUTHORS_R_DIR holds a patched copy of the package's R/iSMNN_utility.R and R/iSMNN.R
# (benchmarks/ismnn_parity.py makes it; the package cannot be installed here, so its files
# are sourced). EXCHANGE_DIR is what claire.bench.competitors.ismnn wrote for our run
# (keep_exchange): the same counts, log-normalised HVGs, batches, clusters and parameters;
# its uns.json names the clusters our run matched, which the authors' call gets as
# matched.clusters. Per batch, as the package's vignette: the exchange's log-normalised data
# (NormalizeData's formula) and vst variable features; then
# iSMNN(strategy = "Short.run") with our parameters. The package fixes Seurat's default
# seeds (42) for CCA, PCA and UMAP. Writes EXCHANGE_DIR/authors_embedding.csv (cell, PC_1..).

suppressPackageStartupMessages(library(Seurat))
here <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
root <- dirname(dirname(dirname(normalizePath(here))))
source(file.path(root, "workflow", "scripts", "r_exchange.R"))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript ismnn_authors.R AUTHORS_R_DIR EXCHANGE_DIR")
authors <- args[[1]]
dir <- args[[2]]

data <- read_exchange_files(dir, cell_columns = c("cell", "batch", "cluster"))
p <- data$params
matched <- fromJSON(file.path(dir, "uns.json"))$ismnn$matched_clusters

obj <- CreateSeuratObject(counts = data$counts, project = "ismnn", min.cells = 0,
                          min.features = 0)
obj <- SetAssayData(obj, slot = "data", new.data = data$logcounts)
obj$batch_id <- data$cells$batch
batches <- SplitObject(obj, split.by = "batch_id")
batches <- lapply(batches, FindVariableFeatures, selection.method = "vst",
                  nfeatures = min(p$vst_features, nrow(obj)), verbose = FALSE)
cluster <- setNames(data$cells$cluster, data$cells$cell)
labels <- lapply(batches, function(b) cluster[colnames(b)])

# the package's NAMESPACE imports (Seurat is attached; SMNN is imported but never called)
imports <- new.env()
imports$nn2 <- RANN::nn2
imports$nbrOfWorkers <- future::nbrOfWorkers
imports$future_lapply <- future.apply::future_lapply
imports$pblapply <- pbapply::pblapply
package <- new.env(parent = imports)
for (file in c("iSMNN_utility.R", "iSMNN.R")) {
  sys.source(file.path(authors, file), envir = package)
}
message("authors' iSMNN: matched clusters ", paste(matched, collapse = ", "))
result <- package$iSMNN(
  object.list = batches, batch.cluster.labels = labels, matched.clusters = matched,
  strategy = "Short.run", iterations = p$iterations, anchor.features = p$anchor_features,
  dims = seq_len(p$dims), npcs = p$npcs, k.anchor = p$k_anchor, k.filter = p$k_filter,
  k.score = p$k_score, max.features = p$max_features, k.weight = p$k_weight,
  sd.weight = p$sd_weight
)
order <- unname(unlist(lapply(labels, names)))
message("authors' iSMNN: integrated cells in object.list order: ",
        identical(colnames(result), order))
emb <- Embeddings(result, "pca")[data$cells$cell, , drop = FALSE]
write.csv(data.frame(cell = rownames(emb), emb, check.names = FALSE),
          file.path(dir, "authors_embedding.csv"), row.names = FALSE)
message(sprintf("authors' iSMNN: wrote a %d x %d embedding", nrow(emb), ncol(emb)))
