#!/usr/bin/env nextflow
// Scores a genome with germ, scattered by region: the Nextflow twin of workflows/snakemake
// (docs/workflows.md). nextflow run workflows/nextflow/main.nf --genome genome.fa [-profile slurm]
nextflow.enable.dsl = 2

include { GERM_SCORE  } from './modules/local/germ/score/main'
include { GERM_BIGWIG } from './modules/local/germ/bigwig/main'

process CHUNK_REGIONS {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(fai)

    output:
    tuple val(meta), path("chunks.tsv"), emit: chunks

    script:
    """
    awk -v chunk_size=${params.chunk_size} -f ${projectDir}/../common/chunk_regions.awk ${fai} > chunks.tsv
    """
}

process GATHER_BEDGRAPH {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(chunks, stageAs: 'chunks/*')

    output:
    tuple val(meta), path("*.bedgraph.gz"), path("*.bedgraph.gz.tbi"), emit: bedgraph

    script:
    def prefix = task.ext.prefix ?: "${meta.id}"
    // Chunk files are named by their zero-padded chunk number: the glob's order is genome order.
    """
    cat chunks/*.bedgraph | bgzip -@ ${task.cpus} -c > ${prefix}.bedgraph.gz
    tabix -f -p bed ${prefix}.bedgraph.gz
    """
}

workflow {
    if (!params.genome) error "give --genome genome.fa (bgzip or plain; its .fai beside it)"
    def genome = file(params.genome, checkIfExists: true)
    def fai = file("${params.genome}.fai", checkIfExists: true)
    def meta = [id: params.name]
    def model = params.model ? file(params.model, checkIfExists: true) : []

    CHUNK_REGIONS(Channel.of([meta, fai]))
    def chunks = CHUNK_REGIONS.out.chunks
        .flatMap { m, tsv -> tsv.readLines().collect { it.tokenize('\t') } }
        .map { number, region -> [[id: "${params.name}_${number}"], genome, fai, region] }
    GERM_SCORE(chunks, model)
    GATHER_BEDGRAPH(GERM_SCORE.out.bedgraph.map { m, bedgraph -> bedgraph }.collect().map { [meta, it] })
    GERM_BIGWIG(GATHER_BEDGRAPH.out.bedgraph.map { m, track, index -> [m, track, genome, fai] })
}
