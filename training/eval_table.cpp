#include "training/eval_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/error.hpp"

namespace tessera::training {
namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string full(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Display width of UTF-8 text: code points, not bytes (labels hold "·", "α", "∞").
std::size_t width_of(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t w) { return width_of(s) >= w ? s : s + std::string(w - width_of(s), ' '); }

// Rows of cells -> a Markdown table with aligned columns.
std::string render(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (width.size() <= c) width.push_back(3);
      width[c] = std::max(width[c], width_of(r[c]));
    }
  std::ostringstream out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out << '|';
    for (std::size_t c = 0; c < width.size(); ++c) out << ' ' << pad(c < rows[i].size() ? rows[i][c] : "", width[c]) << " |";
    out << '\n';
    if (i == 0) {
      out << '|';
      for (std::size_t w : width) out << std::string(w + 2, '-') << '|';
      out << '\n';
    }
  }
  return out.str();
}

std::vector<std::string> distribution_order(const EvalTable& t) {
  std::vector<std::string> names;
  for (const auto& m : t.models)
    for (const auto& o : m.outs)
      if (std::find(names.begin(), names.end(), o.name) == names.end()) names.push_back(o.name);
  return names;
}

const OutDistributionResult* find(const ModelEvaluation& m, const std::string& name) {
  for (const auto& o : m.outs)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

std::string to_markdown(const EvalTable& t) {
  std::ostringstream out;
  // Table 1 layout: MMC, AUROC, FPR@95 per model.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"Trained on"}, sub{t.data_label}, in{t.data_label};
  for (const auto& m : t.models) {
    char te[64];
    std::snprintf(te, sizeof te, "%s (TE: %.2f%%)", m.name.c_str(), 100.0 * m.test_error);
    head.insert(head.end(), {te, "", ""});
    sub.insert(sub.end(), {"MMC", "AUROC", "FPR@95"});
    in.insert(in.end(), {fixed3(m.in_mmc), "-", "-"});
  }
  rows.push_back(head);
  rows.push_back(sub);
  rows.push_back(in);
  const auto names = distribution_order(t);
  for (const auto& name : names) {
    std::vector<std::string> r;
    for (const auto& m : t.models) {
      const OutDistributionResult* o = find(m, name);
      if (r.empty()) r.push_back(o ? o->label : name);
      if (!o || o->count == 0) {
        r.insert(r.end(), {"n/a", "n/a", "n/a"});
      } else {
        r.insert(r.end(), {fixed3(o->mmc), fixed3(o->auroc), fixed3(o->fpr95)});
      }
    }
    rows.push_back(r);
  }
  out << render(rows);
  // The other metrics.
  std::vector<std::vector<std::string>> extra;
  std::vector<std::string> h2{"Out-distribution"};
  for (const auto& m : t.models) h2.insert(h2.end(), {m.name + " AUPR-In", m.name + " AUPR-Out", m.name + " n"});
  extra.push_back(h2);
  for (const auto& name : names) {
    std::vector<std::string> r;
    for (const auto& m : t.models) {
      const OutDistributionResult* o = find(m, name);
      if (r.empty()) r.push_back(o ? o->label : name);
      if (!o || o->count == 0)
        r.insert(r.end(), {"n/a", "n/a", "0"});
      else
        r.insert(r.end(), {fixed3(o->aupr_in), fixed3(o->aupr_out), std::to_string(o->count)});
    }
    extra.push_back(r);
  }
  out << "\n" << render(extra);
  if (!t.complete) out << "\n(interrupted: rows missing)\n";
  return out.str();
}

std::string to_csv(const EvalTable& t) {
  std::ostringstream out;
  out << "model,path,test_error,distribution,label,count,mmc,auroc,fpr95,aupr_in,aupr_out\n";
  for (const auto& m : t.models) {
    out << m.name << ',' << m.path << ',' << full(m.test_error) << ',' << t.data << ",in-distribution," << m.test_count << ','
        << full(m.in_mmc) << ",,,,\n";
    for (const auto& o : m.outs) {
      out << m.name << ',' << m.path << ',' << full(m.test_error) << ',' << o.name << ',' << o.label << ',' << o.count << ',';
      if (o.count > 0)
        out << full(o.mmc) << ',' << full(o.auroc) << ',' << full(o.fpr95) << ',' << full(o.aupr_in) << ',' << full(o.aupr_out);
      else
        out << ",,,,";
      out << '\n';
    }
  }
  return out.str();
}

void to_json(nlohmann::json& j, const OutDistributionResult& o) {
  j = nlohmann::json{{"name", o.name}, {"label", o.label}, {"count", o.count}};
  if (o.count > 0) {
    j["mmc"] = o.mmc;
    j["auroc"] = o.auroc;
    j["fpr95"] = o.fpr95;
    j["aupr_in"] = o.aupr_in;
    j["aupr_out"] = o.aupr_out;
  }
}

void from_json(const nlohmann::json& j, OutDistributionResult& o) {
  j.at("name").get_to(o.name);
  j.at("label").get_to(o.label);
  j.at("count").get_to(o.count);
  if (o.count > 0) {
    j.at("mmc").get_to(o.mmc);
    j.at("auroc").get_to(o.auroc);
    j.at("fpr95").get_to(o.fpr95);
    j.at("aupr_in").get_to(o.aupr_in);
    j.at("aupr_out").get_to(o.aupr_out);
  }
}

void to_json(nlohmann::json& j, const ModelEvaluation& m) {
  j = nlohmann::json{{"name", m.name},         {"path", m.path},     {"test_error", m.test_error},
                     {"test_count", m.test_count}, {"in_mmc", m.in_mmc}, {"out_distributions", m.outs}};
}

void from_json(const nlohmann::json& j, ModelEvaluation& m) {
  j.at("name").get_to(m.name);
  j.at("path").get_to(m.path);
  j.at("test_error").get_to(m.test_error);
  j.at("test_count").get_to(m.test_count);
  j.at("in_mmc").get_to(m.in_mmc);
  j.at("out_distributions").get_to(m.outs);
}

void to_json(nlohmann::json& j, const EvalTable& t) {
  j = nlohmann::json{{"data", t.data}, {"data_label", t.data_label}, {"complete", t.complete}, {"models", t.models}};
  if (!t.settings.is_null()) j["settings"] = t.settings;
}

void from_json(const nlohmann::json& j, EvalTable& t) {
  j.at("data").get_to(t.data);
  j.at("data_label").get_to(t.data_label);
  j.at("complete").get_to(t.complete);
  j.at("models").get_to(t.models);
  t.settings = j.contains("settings") ? j.at("settings") : nlohmann::json();
}

nlohmann::json to_json(const EvalTable& t) { return nlohmann::json(t); }

EvalTable table_from_json(const nlohmann::json& j) {
  try {
    return j.get<EvalTable>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("evaluation JSON: ") + e.what());
  }
}

EvalTable table_from_csv(const std::string& csv) {
  EvalTable t;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  std::map<std::string, std::size_t> index;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.push_back("");
    if (f.size() != 11) throw Error("evaluation CSV line " + std::to_string(line_no) + ": expected 11 fields");
    if (!index.count(f[0])) {
      index[f[0]] = t.models.size();
      ModelEvaluation m;
      m.name = f[0];
      m.path = f[1];
      m.test_error = std::stod(f[2]);
      t.models.push_back(m);
    }
    ModelEvaluation& m = t.models[index[f[0]]];
    if (f[4] == "in-distribution") {
      t.data = f[3];
      m.test_count = std::stoi(f[5]);
      m.in_mmc = std::stod(f[6]);
      continue;
    }
    OutDistributionResult o;
    o.name = f[3];
    o.label = f[4];
    o.count = std::stoi(f[5]);
    if (o.count > 0) {
      o.mmc = std::stod(f[6]);
      o.auroc = std::stod(f[7]);
      o.fpr95 = std::stod(f[8]);
      o.aupr_in = std::stod(f[9]);
      o.aupr_out = std::stod(f[10]);
    }
    m.outs.push_back(o);
  }
  return t;
}

namespace {

std::string row_names(const ModelEvaluation& m) {
  std::string out;
  for (const auto& o : m.outs) out += (out.empty() ? "" : ",") + o.name;
  return out;
}

}  // namespace

EvalTable merge_tables(const std::vector<EvalTable>& tables, const std::vector<std::string>& sources,
                       const std::vector<std::string>& names) {
  if (tables.empty()) throw Error("no evaluation to merge");
  if (sources.size() != tables.size()) throw Error("merge_tables: one source name per table is needed");
  std::size_t models = 0;
  for (const EvalTable& t : tables) models += t.models.size();
  if (!names.empty() && names.size() != models)
    throw Error("--names gives " + std::to_string(names.size()) + " names for " + std::to_string(models) + " merged models");
  EvalTable merged;
  std::map<std::string, std::string> seen;  // model name -> source
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const EvalTable& t = tables[i];
    const std::string& src = sources[i];
    if (!t.complete) throw Error(src + " holds a partial table (the evaluation was interrupted): evaluate again");
    if (t.settings.is_null())
      throw Error(src + " does not record the evaluation's settings (an older version wrote it): evaluate again");
    if (t.models.empty()) throw Error(src + " holds no model");
    if (i == 0) {
      merged.data = t.data;
      merged.data_label = t.data_label;
      merged.settings = t.settings;
    } else {
      const EvalTable& f = tables[0];
      if (t.data != f.data) throw Error(src + " evaluates on " + t.data + " but " + sources[0] + " on " + f.data);
      // The options first (they explain a difference in the data's prints).
      nlohmann::json options = t.settings, first_options = f.settings;
      options.erase("fingerprints");
      first_options.erase("fingerprints");
      if (options != first_options) {
        // Name the first setting that differs, as a JSON pointer.
        const nlohmann::json patch = nlohmann::json::diff(first_options, options);
        const std::string path = patch.empty() ? "" : patch[0].value("path", "");
        const nlohmann::json::json_pointer ptr(path);
        const auto shown = [&](const nlohmann::json& j) { return j.contains(ptr) ? j.at(ptr).dump() : std::string("none"); };
        throw Error(src + " was evaluated with other settings than " + sources[0] + ": " + path + " is " + shown(options) + " there, " +
                    shown(first_options) + " in " + sources[0]);
      }
      if (t.settings.value("fingerprints", nlohmann::json()) != f.settings.value("fingerprints", nlohmann::json())) {
        const nlohmann::json patch = nlohmann::json::diff(f.settings.value("fingerprints", nlohmann::json::object()),
                                                          t.settings.value("fingerprints", nlohmann::json::object()));
        const std::string what = patch.empty() ? "" : patch[0].value("path", "").substr(1);
        throw Error(src + " was evaluated on other data than " + sources[0] + " under the same names (the points of '" + what +
                    "' differ: another data folder, file or conversion)");
      }
    }
    for (const ModelEvaluation& m : t.models) {
      const ModelEvaluation& f = tables[0].models[0];
      if (m.test_count != f.test_count)
        throw Error(src + " scores " + std::to_string(m.test_count) + " test points but " + sources[0] + " " + std::to_string(f.test_count));
      if (row_names(m) != row_names(f))
        throw Error(src + " has the rows " + row_names(m) + " but " + sources[0] + " " + row_names(f));
      for (std::size_t r = 0; r < m.outs.size(); ++r)
        if (m.outs[r].name != "adv-samples" && m.outs[r].count != f.outs[r].count)
          throw Error(src + " scores " + std::to_string(m.outs[r].count) + " points in the row " + m.outs[r].name + " but " +
                      sources[0] + " " + std::to_string(f.outs[r].count));
      merged.models.push_back(m);
      if (!names.empty()) {
        merged.models.back().name = names[merged.models.size() - 1];
        if (!seen.emplace(merged.models.back().name, src).second)
          throw Error("--names gives the name '" + merged.models.back().name + "' twice");
        continue;
      }
      const auto [it, fresh] = seen.emplace(m.name, src);
      if (!fresh)
        throw Error("the model name '" + m.name + "' is in " + it->second + " and in " + src + ": rename the columns with --names");
    }
  }
  return merged;
}

}  // namespace tessera::training
