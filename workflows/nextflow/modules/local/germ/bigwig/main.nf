process GERM_BIGWIG {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(bedgraph), path(fasta), path(fai)

    output:
    tuple val(meta), path("*.bw"), emit: bigwig
    path "versions.yml"          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    germ bigwig \\
        ${args} \\
        --ref ${fasta} \\
        -o ${prefix}.bw \\
        ${bedgraph}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        germ: \$(germ --version | sed 's/^germ //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bw

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        germ: \$(germ --version | sed 's/^germ //')
    END_VERSIONS
    """
}
