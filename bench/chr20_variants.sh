# Sourced by the variant benchmarks: chr20_variant_set WORK REGION writes, for a -r region of
# contig z of the 1000 Genomes chr20 set, WORK/all.vcf.gz (indexed), WORK/dense.vcf.gz (the
# region's records) and WORK/region.fa (its sequence, named z), and sets `ref` to the genome.
chr20_variant_set() {
  local work=$1 region=$2 data
  data=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/data
  ref=$data/genomes/human_GRCh37_chr20_1-2Mb.fa
  cp "$data/variants/human_GRCh37_chr20_1-2Mb.1kgp.vcf.gz" "$work/all.vcf.gz" && bcftools index -t "$work/all.vcf.gz"
  bcftools view -r "$region" -Oz -o "$work/dense.vcf.gz" "$work/all.vcf.gz"
  samtools faidx "$ref" "$region" | sed "1s/.*/>z/" > "$work/region.fa"
}
