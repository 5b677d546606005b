// The curves of a DPO run: four QtCharts plots against the optimiser step (loss, rewards/accuracies,
// rewards/margins, learning_rate; train and eval series where the trainer logs both), a table of the
// latest values, and export of the curves as PNG (the plots' pixels) and CSV (every logged value).
#pragma once

#include <map>
#include <vector>

#include <QString>
#include <QStringList>
#include <QTableWidget>
#include <QWidget>

#include "tastemaker/error.h"
#include "tastemaker/training.h"

class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace tmk::ui {

class CurveCharts : public QWidget {
    Q_OBJECT

public:
    explicit CurveCharts(QWidget* parent = nullptr);
    ~CurveCharts() override;

    void clear();
    void addEntry(const tmk::TrainLogEntry& entry);
    void setEntries(const std::vector<tmk::TrainLogEntry>& entries);
    const std::vector<tmk::TrainLogEntry>& entries() const { return m_entries; }

    // The plotted metrics (train names): "loss", "rewards/accuracies", "rewards/margins", "learning_rate".
    static QStringList plottedMetrics();
    // The series of `metric` for `split` ("train" or "eval"); nullptr when that plot has no such series.
    QLineSeries* series(const QString& metric, const QString& split) const;
    int pointCount(const QString& metric, const QString& split) const;

    // The four plots as one PNG (QWidget::grab); written atomically. Errors name the file.
    tmk::Expected<void> exportPng(const QString& path) const;
    // One row per log entry: step, epoch, split, then every value name seen (eval names without "eval_"
    // prefix are kept as the trainer wrote them); empty cells where an entry lacks a value.
    tmk::Expected<void> exportCsv(const QString& path) const;
    QString toCsv() const;

private:
    struct Plot {
        QChart* chart = nullptr;
        QChartView* view = nullptr;
        QValueAxis* x = nullptr;
        QValueAxis* y = nullptr;
        QLineSeries* train = nullptr;
        QLineSeries* eval = nullptr; // nullptr for learning_rate
        double minX = 0, maxX = 0, minY = 0, maxY = 0;
        bool empty = true;
    };
    Plot makePlot(const QString& title, const QString& metric, bool withEval);
    void append(Plot& plot, QLineSeries* series, double x, double y);

    std::map<QString, Plot> m_plots; // by train metric name
    std::vector<tmk::TrainLogEntry> m_entries;
};

// The latest value of every logged metric: one row per name (eval names folded onto their train name),
// columns Train, Eval and the step each was logged at.
class LatestValuesTable : public QTableWidget {
    Q_OBJECT

public:
    explicit LatestValuesTable(QWidget* parent = nullptr);
    void reset(); // no rows
    void addEntry(const tmk::TrainLogEntry& entry);
    // The shown text of `metric`'s train or eval cell ("" when none).
    QString valueText(const QString& metric, const QString& split) const;

private:
    int rowFor(const QString& metric);
    std::map<QString, int> m_rows;
};

// Export PNG… / Export CSV…: a save dialog starting at `suggestedPath`, then the export (errors in a
// message box).
void exportCurvesInteractive(QWidget* parent, const CurveCharts& charts, bool png, const QString& suggestedPath);

// "loss" for "eval_loss" in an eval entry; the name unchanged otherwise.
QString trainMetricName(const QString& name);
// "0.6931", "5.00e-04": compact numbers for tables and labels.
QString formatMetricValue(double value);

} // namespace tmk::ui
