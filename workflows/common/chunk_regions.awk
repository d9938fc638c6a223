# Cuts the contigs of a .fai into chunks of chunk_size bases (awk -v chunk_size=N), one line
# per chunk: a zero-padded number (sorting the numbers sorts the chunks in genome order) and a
# germ region, 1-based inclusive. Names containing ':' are quoted {name}, as germ's -r expects.
# Shared by the Snakemake and Nextflow workflows.
BEGIN {
  FS = OFS = "\t"
  if (chunk_size + 0 < 1) { print "chunk_regions.awk: chunk_size must be a positive number of bases" > "/dev/stderr"; exit 1 }
}
{
  name = ($1 ~ /:/ || $1 ~ /^\{/) ? "{" $1 "}" : $1
  for (begin = 0; begin < $2; begin += chunk_size) {
    end = begin + chunk_size < $2 ? begin + chunk_size : $2
    printf "%06d\t%s:%d-%d\n", chunks++, name, begin + 1, end
  }
}
