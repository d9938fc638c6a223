process GERM_SCORE {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(fasta), path(fai), val(region)
    path model

    output:
    tuple val(meta), path("*.bedgraph"), emit: bedgraph
    path "versions.yml"                , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def model_option = model ? "-m ${model}" : ''
    """
    germ score \\
        ${model_option} \\
        -r '${region}' \\
        -@ ${task.cpus} \\
        ${args} \\
        -q \\
        -o ${prefix}.bedgraph \\
        ${fasta}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        germ: \$(germ --version | sed 's/^germ //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bedgraph

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        germ: \$(germ --version | sed 's/^germ //')
    END_VERSIONS
    """
}
