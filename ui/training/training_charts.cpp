// CurveCharts and LatestValuesTable (see training_charts.h).
#include "training/training_charts.h"

#include <algorithm>
#include <cmath>

#include <QBuffer>
#include <QChart>
#include <QChartView>
#include <QFileDialog>
#include <QGridLayout>
#include <QHeaderView>
#include <QLineSeries>
#include <QMessageBox>
#include <QPixmap>
#include <QSaveFile>
#include <QValueAxis>

#include "widgets/theme.h"

namespace tmk::ui {

namespace {

constexpr const char* kPlotted[] = { "loss", "rewards/accuracies", "rewards/margins", "learning_rate" };

Error fileError(const QString& path, const QString& problem)
{
    return Error::inFile(ErrorCode::Io, path.toStdString(), problem.toStdString());
}

Expected<void> writeAtomically(const QString& path, const QByteArray& bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fileError(path, "cannot be written (" + file.errorString() + ")");
    file.write(bytes);
    if (!file.commit()) return fileError(path, "could not be saved (" + file.errorString() + ")");
    return {};
}

} // namespace

QString trainMetricName(const QString& name)
{
    return name.startsWith("eval_") ? name.mid(5) : name;
}

QString formatMetricValue(double value)
{
    if (!std::isfinite(value)) return QString::number(value);
    const double magnitude = std::abs(value);
    if (magnitude != 0.0 && (magnitude < 1e-3 || magnitude >= 1e5)) return QString::number(value, 'e', 2);
    return QString::number(value, 'f', 4);
}

// ---- CurveCharts ----

CurveCharts::CurveCharts(QWidget* parent)
    : QWidget(parent)
{
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(6);
    const struct {
        const char* metric;
        QString title;
        bool eval;
    } plots[] = {
        { "loss", tr("DPO loss"), true },
        { "rewards/accuracies", tr("Reward accuracy (chosen ranked above rejected)"), true },
        { "rewards/margins", tr("Reward margin (chosen − rejected)"), true },
        { "learning_rate", tr("Learning rate"), false },
    };
    int index = 0;
    for (const auto& p : plots) {
        Plot plot = makePlot(p.title, p.metric, p.eval);
        grid->addWidget(plot.view, index / 2, index % 2);
        m_plots.emplace(p.metric, plot);
        ++index;
    }
}

CurveCharts::~CurveCharts() = default;

QStringList CurveCharts::plottedMetrics()
{
    QStringList names;
    for (const char* name : kPlotted) names << name;
    return names;
}

CurveCharts::Plot CurveCharts::makePlot(const QString& title, const QString& metric, bool withEval)
{
    Plot plot;
    plot.chart = new QChart();
    // Follow the app's palette (a white chart in a dark window glares).
    plot.chart->setTheme(isDark(palette()) ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    plot.chart->setBackgroundBrush(palette().base());
    plot.chart->setTitle(title);
    plot.chart->setMargins(QMargins(4, 4, 4, 4));
    plot.chart->legend()->setAlignment(Qt::AlignBottom);
    plot.train = new QLineSeries(plot.chart);
    plot.train->setName(tr("train"));
    plot.train->setObjectName(metric + "/train");
    plot.chart->addSeries(plot.train);
    if (withEval) {
        plot.eval = new QLineSeries(plot.chart);
        plot.eval->setName(tr("eval"));
        plot.eval->setObjectName(metric + "/eval");
        plot.eval->setPointsVisible(true); // evaluations are sparse: show each one
        plot.chart->addSeries(plot.eval);
    } else {
        plot.chart->legend()->hide();
    }
    plot.x = new QValueAxis(plot.chart);
    plot.x->setTitleText(tr("step"));
    plot.x->setLabelFormat("%d");
    plot.y = new QValueAxis(plot.chart);
    plot.y->setLabelFormat(metric == "learning_rate" ? "%.1e" : "%.2f");
    plot.chart->addAxis(plot.x, Qt::AlignBottom);
    plot.chart->addAxis(plot.y, Qt::AlignLeft);
    for (QAbstractSeries* series : plot.chart->series()) {
        series->attachAxis(plot.x);
        series->attachAxis(plot.y);
    }
    plot.x->setRange(0, 1);
    plot.y->setRange(0, 1);
    plot.view = new QChartView(plot.chart, this);
    plot.view->setRenderHint(QPainter::Antialiasing);
    plot.view->setMinimumSize(260, 180);
    plot.view->setObjectName("chart:" + metric);
    return plot;
}

void CurveCharts::append(Plot& plot, QLineSeries* series, double x, double y)
{
    if (!std::isfinite(y)) return; // a NaN loss is in the CSV, not on the plot
    series->append(x, y);
    if (plot.empty) {
        plot.minX = plot.maxX = x;
        plot.minY = plot.maxY = y;
        plot.empty = false;
    } else {
        plot.minX = std::min(plot.minX, x);
        plot.maxX = std::max(plot.maxX, x);
        plot.minY = std::min(plot.minY, y);
        plot.maxY = std::max(plot.maxY, y);
    }
    const double spanY = plot.maxY - plot.minY;
    const double pad = spanY > 0 ? spanY * 0.08 : std::max(std::abs(plot.maxY) * 0.1, 1e-6);
    plot.x->setRange(plot.minX, std::max(plot.maxX, plot.minX + 1.0));
    plot.y->setRange(plot.minY - pad, plot.maxY + pad);
    plot.x->applyNiceNumbers(); // round tick labels
    plot.y->applyNiceNumbers();
}

void CurveCharts::addEntry(const TrainLogEntry& entry)
{
    m_entries.push_back(entry);
    const bool eval = entry.split == "eval";
    for (const auto& [name, value] : entry.values) {
        auto it = m_plots.find(trainMetricName(QString::fromStdString(name)));
        if (it == m_plots.end()) continue;
        Plot& plot = it->second;
        QLineSeries* series = eval ? plot.eval : plot.train;
        if (series) append(plot, series, static_cast<double>(entry.step), value);
    }
}

void CurveCharts::setEntries(const std::vector<TrainLogEntry>& entries)
{
    clear();
    for (const TrainLogEntry& entry : entries) addEntry(entry);
}

void CurveCharts::clear()
{
    m_entries.clear();
    for (auto& [name, plot] : m_plots) {
        plot.train->clear();
        if (plot.eval) plot.eval->clear();
        plot.empty = true;
        plot.x->setRange(0, 1);
        plot.y->setRange(0, 1);
    }
}

QLineSeries* CurveCharts::series(const QString& metric, const QString& split) const
{
    auto it = m_plots.find(metric);
    if (it == m_plots.end()) return nullptr;
    return split == "eval" ? it->second.eval : it->second.train;
}

int CurveCharts::pointCount(const QString& metric, const QString& split) const
{
    QLineSeries* s = series(metric, split);
    return s ? static_cast<int>(s->count()) : 0;
}

Expected<void> CurveCharts::exportPng(const QString& path) const
{
    const QPixmap pixels = const_cast<CurveCharts*>(this)->grab();
    QByteArray bytes;
    {
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        if (pixels.isNull() || !pixels.save(&buffer, "PNG"))
            return fileError(path, "the charts could not be rendered as PNG");
    }
    return writeAtomically(path, bytes);
}

QString CurveCharts::toCsv() const
{
    QStringList names; // every value name, in first-seen order
    for (const TrainLogEntry& entry : m_entries)
        for (const auto& [name, value] : entry.values)
            if (!names.contains(QString::fromStdString(name))) names << QString::fromStdString(name);
    QString csv = "step,epoch,split";
    for (const QString& name : names) csv += "," + name;
    csv += "\n";
    for (const TrainLogEntry& entry : m_entries) {
        csv += QString("%1,%2,%3")
                   .arg(entry.step)
                   .arg(entry.epoch, 0, 'g', 10)
                   .arg(QString::fromStdString(entry.split));
        for (const QString& name : names) {
            csv += ",";
            if (std::optional<double> value = entry.value(name.toStdString())) csv += QString::number(*value, 'g', 10);
        }
        csv += "\n";
    }
    return csv;
}

Expected<void> CurveCharts::exportCsv(const QString& path) const
{
    return writeAtomically(path, toCsv().toUtf8());
}

void exportCurvesInteractive(QWidget* parent, const CurveCharts& charts, bool png, const QString& suggestedPath)
{
    const QString path = QFileDialog::getSaveFileName(parent,
        png ? QObject::tr("Export curves as PNG") : QObject::tr("Export curves as CSV"), suggestedPath,
        png ? QObject::tr("PNG images (*.png)") : QObject::tr("CSV files (*.csv)"));
    if (path.isEmpty()) return;
    Expected<void> written = png ? charts.exportPng(path) : charts.exportCsv(path);
    if (!written)
        QMessageBox::warning(parent, QObject::tr("Export failed"), QString::fromStdString(written.error().message));
}

// ---- LatestValuesTable ----

LatestValuesTable::LatestValuesTable(QWidget* parent)
    : QTableWidget(0, 4, parent)
{
    setHorizontalHeaderLabels({ tr("Metric"), tr("Train"), tr("Eval"), tr("Step (train / eval)") });
    horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    verticalHeader()->hide();
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSelectionMode(QAbstractItemView::NoSelection);
    setAlternatingRowColors(true);
}

void LatestValuesTable::reset()
{
    setRowCount(0);
    m_rows.clear();
}

int LatestValuesTable::rowFor(const QString& metric)
{
    auto it = m_rows.find(metric);
    if (it != m_rows.end()) return it->second;
    const int row = rowCount();
    insertRow(row);
    setItem(row, 0, new QTableWidgetItem(metric));
    for (int column = 1; column < 4; ++column) setItem(row, column, new QTableWidgetItem());
    m_rows.emplace(metric, row);
    return row;
}

void LatestValuesTable::addEntry(const TrainLogEntry& entry)
{
    const bool eval = entry.split == "eval";
    for (const auto& [name, value] : entry.values) {
        const int row = rowFor(trainMetricName(QString::fromStdString(name)));
        item(row, eval ? 2 : 1)->setText(formatMetricValue(value));
        QTableWidgetItem* steps = item(row, 3);
        QStringList parts = steps->text().split(" / ");
        if (parts.size() != 2) parts = QStringList { "–", "–" };
        parts[eval ? 1 : 0] = QString::number(entry.step);
        steps->setText(parts.join(" / "));
    }
}

QString LatestValuesTable::valueText(const QString& metric, const QString& split) const
{
    auto it = m_rows.find(metric);
    if (it == m_rows.end()) return {};
    const QTableWidgetItem* cell = item(it->second, split == "eval" ? 2 : 1);
    return cell ? cell->text() : QString();
}

} // namespace tmk::ui
