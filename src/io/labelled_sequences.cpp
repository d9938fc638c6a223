#include "io/labelled_sequences.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>

#include "io/bases.hpp"
#include "io/compressed_input.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::io {
namespace {

constexpr size_t kMaxCsvLine = size_t{1} << 26;

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t end = line.find(separator, start);
    fields.push_back(trim(line.substr(start, end == std::string::npos ? std::string::npos : end - start)));
    if (end == std::string::npos) return fields;
    start = end + 1;
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string at_line(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

int64_t parse_label(const std::string& text, const std::string& where) {
  if (text.empty()) throw Error(where, "missing label");
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw Error(where, "label '" + text + "' is not an integer");
  if (value < 0) throw Error(where, "label " + text + " is negative");
  return value;
}

void check_bases(const std::string& bases, const std::string& where) {
  if (bases.empty()) throw Error(where, "empty sequence");
  for (char c : bases)
    if (!is_sequence_char(c)) throw Error(where, "sequence has " + describe_char(c) + ", not DNA");
}

void settle_label_count(LabelledSet& set, int64_t num_labels) {
  int64_t max_label = -1;
  for (const auto& row : set.rows) {
    if (num_labels > 0 && row.label >= num_labels)
      throw Error(at_line(set.path, row.line), "label " + std::to_string(row.label) +
                                                   " is out of range (labels are 0.." +
                                                   std::to_string(num_labels - 1) + ")");
    max_label = std::max(max_label, row.label);
  }
  if (set.rows.empty()) throw Error(set.path, "no sequences");
  set.num_labels = num_labels > 0 ? num_labels : max_label + 1;
}

}  // namespace

LabelledSet read_labelled_csv(const std::string& path, int64_t num_labels) {
  if (!std::filesystem::exists(path)) throw Error(path, "no such file");
  CompressedInput input(path);
  LabelledSet set{path, {}, 0};
  std::string line;
  int64_t line_number = 0;
  int sequence_column = -1, label_column = -1;
  size_t columns = 0;
  while (input.read_line(line, kMaxCsvLine, line_number + 1)) {
    ++line_number;
    if (trim(line).empty()) continue;
    auto fields = split(line, ',');
    if (sequence_column < 0) {
      std::vector<std::string> names;
      for (auto& f : fields) names.push_back(lower(f));
      auto find = [&](const char* name) {
        auto it = std::find(names.begin(), names.end(), name);
        return it == names.end() ? -1 : static_cast<int>(it - names.begin());
      };
      if (find("seq1") >= 0 || find("sequence1") >= 0 || find("sequence_a") >= 0)
        throw Error(at_line(path, line_number),
                    "pair classification (header '" + line + "') is not supported; germ classifies "
                    "one sequence per row (header 'sequence,label')");
      sequence_column = find("sequence");
      label_column = find("label");
      if (sequence_column < 0 || label_column < 0)
        throw Error(at_line(path, line_number),
                    "header must name the columns 'sequence' and 'label' (found '" + line + "')");
      columns = fields.size();
      continue;
    }
    std::string where = at_line(path, line_number);
    if (fields.size() != columns)
      throw Error(where, "expected " + std::to_string(columns) + " comma-separated fields, found " +
                             std::to_string(fields.size()));
    LabelledSequence row;
    row.bases = fields[sequence_column];
    check_bases(row.bases, where);
    row.label = parse_label(fields[label_column], where);
    row.line = line_number;
    set.rows.push_back(std::move(row));
  }
  if (sequence_column < 0) throw Error(path, "empty file (expected a header 'sequence,label')");
  settle_label_count(set, num_labels);
  return set;
}

LabelledSet read_labelled_fasta(const std::string& fasta_path, const std::string& labels_path,
                                int64_t num_labels) {
  if (!std::filesystem::exists(labels_path)) throw Error(labels_path, "no such file");
  std::map<std::string, std::pair<int64_t, int64_t>> labels;  // name -> (label, line)
  {
    CompressedInput input(labels_path);
    std::string line;
    int64_t line_number = 0;
    while (input.read_line(line, kMaxCsvLine, line_number + 1)) {
      ++line_number;
      if (trim(line).empty() || line[0] == '#') continue;
      auto fields = split(line, '\t');
      std::string where = at_line(labels_path, line_number);
      if (fields.size() != 2) throw Error(where, "expected 'name<TAB>label'");
      if (line_number == 1 && lower(fields[1]) == "label") continue;
      int64_t label = parse_label(fields[1], where);
      if (!labels.emplace(fields[0], std::make_pair(label, line_number)).second)
        throw Error(where, "record '" + fields[0] + "' is labelled twice");
    }
  }
  LabelledSet set{fasta_path, {}, 0};
  SequenceReader reader(fasta_path);
  SequenceChunk chunk;
  std::map<std::string, bool> seen;
  while (reader.next(chunk)) {
    if (chunk.contig_start) {
      auto it = labels.find(chunk.contig);
      if (it == labels.end())
        throw Error(labels_path, "no label for record '" + chunk.contig + "' of " + fasta_path);
      seen[chunk.contig] = true;
      set.rows.push_back({"", it->second.first, chunk.contig_index + 1});
    }
    set.rows.back().bases += chunk.bases;
    if (chunk.contig_end)
      check_bases(set.rows.back().bases, fasta_path + ": record '" + chunk.contig + "'");
  }
  for (const auto& [name, entry] : labels)
    if (!seen.count(name))
      throw Error(at_line(labels_path, entry.second), "record '" + name + "' is not in " + fasta_path);
  settle_label_count(set, num_labels);
  return set;
}

LabelledSet read_labelled_split(const std::string& path, const std::string& split, int64_t num_labels) {
  namespace fs = std::filesystem;
  auto labels_beside = [](const std::string& fasta) -> std::string {
    for (const char* ext : {".fa.gz", ".fasta.gz", ".fa", ".fasta"}) {
      std::string e = ext;
      if (fasta.size() > e.size() && fasta.compare(fasta.size() - e.size(), e.size(), e) == 0)
        return fasta.substr(0, fasta.size() - e.size()) + ".labels.tsv";
    }
    return "";
  };
  if (fs::is_directory(path)) {
    fs::path csv = fs::path(path) / (split + ".csv");
    if (fs::exists(csv)) return read_labelled_csv(csv.string(), num_labels);
    for (const char* ext : {".fa", ".fa.gz", ".fasta", ".fasta.gz"}) {
      fs::path fasta = fs::path(path) / (split + ext);
      if (fs::exists(fasta)) return read_labelled_fasta(fasta.string(), labels_beside(fasta.string()), num_labels);
    }
    throw Error(path, "has no " + split + ".csv (GUE layout) nor " + split + ".fa with " + split + ".labels.tsv");
  }
  std::string labels = labels_beside(path);
  if (!labels.empty()) return read_labelled_fasta(path, labels, num_labels);
  return read_labelled_csv(path, num_labels);
}

}  // namespace germ::io
