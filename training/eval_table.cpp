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

nlohmann::json to_json(const EvalTable& t) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : t.models) {
    nlohmann::json outs = nlohmann::json::array();
    for (const auto& o : m.outs) {
      nlohmann::json r{{"name", o.name}, {"label", o.label}, {"count", o.count}};
      if (o.count > 0) {
        r["mmc"] = o.mmc;
        r["auroc"] = o.auroc;
        r["fpr95"] = o.fpr95;
        r["aupr_in"] = o.aupr_in;
        r["aupr_out"] = o.aupr_out;
      }
      outs.push_back(r);
    }
    models.push_back({{"name", m.name}, {"path", m.path}, {"test_error", m.test_error}, {"test_count", m.test_count},
                      {"in_mmc", m.in_mmc}, {"out_distributions", outs}});
  }
  return {{"data", t.data}, {"data_label", t.data_label}, {"complete", t.complete}, {"models", models}};
}

EvalTable table_from_json(const nlohmann::json& j) {
  EvalTable t;
  try {
    t.data = j.at("data");
    t.data_label = j.at("data_label");
    t.complete = j.at("complete");
    for (const auto& jm : j.at("models")) {
      ModelEvaluation m;
      m.name = jm.at("name");
      m.path = jm.at("path");
      m.test_error = jm.at("test_error");
      m.test_count = jm.at("test_count");
      m.in_mmc = jm.at("in_mmc");
      for (const auto& jo : jm.at("out_distributions")) {
        OutDistributionResult o;
        o.name = jo.at("name");
        o.label = jo.at("label");
        o.count = jo.at("count");
        if (o.count > 0) {
          o.mmc = jo.at("mmc");
          o.auroc = jo.at("auroc");
          o.fpr95 = jo.at("fpr95");
          o.aupr_in = jo.at("aupr_in");
          o.aupr_out = jo.at("aupr_out");
        }
        m.outs.push_back(o);
      }
      t.models.push_back(m);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("evaluation JSON: ") + e.what());
  }
  return t;
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

}  // namespace tessera::training
