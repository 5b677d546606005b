// SteeringSliderTable, SteeringCurveChart and InterferenceTable (see steering_report_widgets.h).
#include "steering/steering_report_widgets.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <QAreaSeries>
#include <QChart>
#include <QHeaderView>
#include <QLineSeries>
#include <QScatterSeries>
#include <QValueAxis>

#include "widgets/theme.h"

namespace tmk::ui {

namespace {

constexpr double kFullColourEffect = 2.0; // |d| at which a matrix cell is full red or blue (as interference.png)

QString signedNumber(double value)
{
    return (value >= 0 ? "+" : "") + QString::number(value, 'g', 3);
}

// "+0.412 [+0.201, +0.611]", "+0.41" without an interval.
QString estimateText(const std::optional<Estimate>& estimate, const QString& unit = {})
{
    if (!estimate) return QObject::tr("–");
    QString text = signedNumber(estimate->value) + unit;
    if (estimate->low && estimate->high)
        text += QString(" [%1, %2]").arg(signedNumber(*estimate->low), signedNumber(*estimate->high));
    return text;
}

QColor blend(const QColor& from, const QColor& to, double amount)
{
    const double t = std::clamp(amount, 0.0, 1.0);
    return QColor::fromRgbF(static_cast<float>(from.redF() + (to.redF() - from.redF()) * t),
        static_cast<float>(from.greenF() + (to.greenF() - from.greenF()) * t),
        static_cast<float>(from.blueF() + (to.blueF() - from.blueF()) * t));
}

QColor readableText(const QColor& background)
{
    return background.lightnessF() > 0.55 ? QColor(Qt::black) : QColor(Qt::white);
}

QTableWidgetItem* cellItem(const QString& text, const QString& toolTip = {})
{
    auto* cell = new QTableWidgetItem(text);
    cell->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (!toolTip.isEmpty()) cell->setToolTip(toolTip);
    return cell;
}

// A cell tinted for a target met (green) or missed (red); untouched when not measurable.
void tint(QTableWidgetItem* cell, TargetResult result, const QPalette& palette)
{
    if (result == TargetResult::NotMeasurable) return;
    const QColor colour = result == TargetResult::Met ? QColor(44, 160, 44) : QColor(214, 39, 40);
    const QColor background = blend(palette.base().color(), colour, 0.35);
    cell->setBackground(background);
    cell->setForeground(readableText(background));
}

QString targetsText(const SteeringTargets& targets)
{
    if (targets.effect == TargetResult::NotMeasurable) return QObject::tr("not measurable");
    if (targets.allMet()) return QObject::tr("✓ all met");
    QStringList missed;
    if (targets.effect == TargetResult::Missed) missed << QObject::tr("effect");
    if (targets.spearman == TargetResult::Missed) missed << QObject::tr("Spearman");
    if (targets.interference == TargetResult::Missed) missed << QObject::tr("interference");
    return QObject::tr("✗ missed: %1").arg(missed.join(", "));
}

int columnOf(const std::vector<std::string>& columns, const std::string& name)
{
    const auto at = std::find(columns.begin(), columns.end(), name);
    return at == columns.end() ? -1 : static_cast<int>(at - columns.begin());
}

} // namespace

QString metricName(const std::vector<MetricInfo>& metrics, const std::string& id)
{
    const MetricInfo* metric = findMetric(metrics, id);
    if (metric) return QString::fromStdString(metric->name);
    QString name = QString::fromStdString(id); // a measured column that is no slider: "loudness" -> "Loudness"
    if (!name.isEmpty()) name[0] = name[0].toUpper();
    return name;
}

// ---- SteeringSliderTable ----

SteeringSliderTable::SteeringSliderTable(std::vector<MetricInfo> metrics, QWidget* parent)
    : QTableWidget(parent)
    , m_metrics(std::move(metrics))
{
    setColumnCount(ColumnCount);
    setHorizontalHeaderLabels({ tr("Slider"), tr("Clips"), tr("Difference [95% CI]"), tr("Effect d [95% CI]"),
        tr("Spearman"), tr("Spearman of means"), tr("Interference"), tr("Targets") });
    horizontalHeaderItem(DifferenceColumn)
        ->setToolTip(tr("Mean of the slider's metric at the highest value minus the mean at the lowest, in the "
                        "metric's units. Target: positive, with the 95% interval above 0."));
    horizontalHeaderItem(EffectColumn)->setToolTip(tr("The difference divided by the pooled standard deviation."));
    horizontalHeaderItem(SpearmanColumn)
        ->setToolTip(tr("Rank correlation of the measured metric with the slider value. Target: at least %1.")
                         .arg(kSteeringSpearmanTarget));
    horizontalHeaderItem(SpearmanOfMeansColumn)
        ->setToolTip(tr("Rank correlation of the mean at each slider value with the value: 1 when the metric "
                        "rises at every step. Reported beside the target, which is on every clip."));
    horizontalHeaderItem(InterferenceColumn)
        ->setToolTip(tr("The largest |effect| on another slider's metric over the on-target |effect|. Target: "
                        "below %1.")
                         .arg(kSteeringInterferenceTarget));
    verticalHeader()->hide();
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    horizontalHeader()->setStretchLastSection(true);
}

void SteeringSliderTable::setReport(const SteeringReport& report)
{
    clearContents();
    setRowCount(static_cast<int>(report.sliders.size()));
    for (int row = 0; row < rowCount(); ++row) setRow(row, report.sliders[static_cast<size_t>(row)]);
    resizeColumnsToContents();
}

void SteeringSliderTable::setRow(int row, const SteeringSliderReport& slider)
{
    const MetricInfo* info = findMetric(m_metrics, slider.metric);
    QTableWidgetItem* name = cellItem(metricName(m_metrics, slider.metric),
        info ? QString::fromStdString(info->negativeLabel + " ↔ " + info->positiveLabel + ". " + info->description)
             : QString());
    name->setData(Qt::UserRole, QString::fromStdString(slider.metric));
    setItem(row, SliderColumn, name);
    setItem(row, ClipsColumn, cellItem(QString::number(slider.clips)));
    const SteeringTargets targets = steeringTargets(slider);
    if (!slider.measurable) {
        const QString why = tr("The audio analyser does not measure %1; its row of the interference matrix shows "
                               "what it moves.")
                                .arg(name->text());
        for (int column :
            { DifferenceColumn, EffectColumn, SpearmanColumn, SpearmanOfMeansColumn, InterferenceColumn }) {
            QTableWidgetItem* cell = cellItem(tr("not measurable"), why);
            cell->setForeground(mutedTextColor(palette()));
            setItem(row, column, cell);
        }
    } else {
        const QString unit = slider.metric == "tempo" ? tr(" BPM") : QString();
        QTableWidgetItem* difference = cellItem(estimateText(slider.difference, unit));
        tint(difference, targets.effect, palette());
        setItem(row, DifferenceColumn, difference);
        setItem(row, EffectColumn, cellItem(estimateText(slider.standardisedEffect)));
        QTableWidgetItem* spearman = cellItem(slider.spearman ? QString::number(*slider.spearman, 'f', 2) : tr("–"));
        tint(spearman, targets.spearman, palette());
        setItem(row, SpearmanColumn, spearman);
        setItem(row, SpearmanOfMeansColumn,
            cellItem(slider.spearmanOfMeans ? QString::number(*slider.spearmanOfMeans, 'f', 2) : tr("–")));
        QString ratio = slider.interferenceRatio ? QString::number(*slider.interferenceRatio, 'f', 2) : tr("–");
        if (slider.largestOffTarget) ratio += QString(" (%1)").arg(metricName(m_metrics, *slider.largestOffTarget));
        QTableWidgetItem* interference = cellItem(ratio);
        tint(interference, targets.interference, palette());
        setItem(row, InterferenceColumn, interference);
    }
    QTableWidgetItem* verdict = cellItem(targetsText(targets));
    if (slider.measurable) tint(verdict, targets.allMet() ? TargetResult::Met : TargetResult::Missed, palette());
    setItem(row, TargetsColumn, verdict);
}

QString SteeringSliderTable::metricAt(int row) const
{
    const QTableWidgetItem* cell = item(row, SliderColumn);
    return cell ? cell->data(Qt::UserRole).toString() : QString();
}

int SteeringSliderTable::rowOf(const QString& metric) const
{
    for (int row = 0; row < rowCount(); ++row)
        if (metricAt(row) == metric) return row;
    return -1;
}

// ---- SteeringCurveChart ----

SteeringCurveChart::SteeringCurveChart(std::vector<MetricInfo> metrics, QWidget* parent)
    : QChartView(parent)
    , m_metrics(std::move(metrics))
{
    auto* chart = new QChart();
    chart->setTheme(isDark(palette()) ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    chart->setBackgroundBrush(palette().base());
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignBottom);
    const QColor accent = accentColor(palette());

    m_upper = new QLineSeries(chart);
    m_lower = new QLineSeries(chart);
    m_band = new QAreaSeries(m_upper, m_lower);
    m_band->setName(tr("95% interval of the mean"));
    QColor bandColour = accent;
    bandColour.setAlpha(60);
    m_band->setBrush(bandColour);
    m_band->setPen(Qt::NoPen);
    m_clips = new QScatterSeries(chart);
    m_clips->setName(tr("clips"));
    m_clips->setMarkerSize(7);
    QColor clipColour = mutedTextColor(palette());
    clipColour.setAlpha(150);
    m_clips->setColor(clipColour);
    m_clips->setBorderColor(Qt::transparent);
    m_mean = new QLineSeries(chart);
    m_mean->setName(tr("mean"));
    m_mean->setPointsVisible(true);
    m_mean->setPen(QPen(accent, 2.5));
    for (QAbstractSeries* series : std::initializer_list<QAbstractSeries*> { m_band, m_clips, m_mean })
        chart->addSeries(series);
    m_x = new QValueAxis(chart);
    m_x->setTitleText(tr("slider value (the other sliders at 0)"));
    m_y = new QValueAxis(chart);
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    for (QAbstractSeries* series : chart->series()) {
        series->attachAxis(m_x);
        series->attachAxis(m_y);
    }
    // QChartView(QWidget*) made a chart of its own; setChart() hands it back to us rather than deleting it.
    QChart* const placeholder = this->chart();
    setChart(chart);
    delete placeholder;
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(360, 260);
    clearSlider();
}

int SteeringCurveChart::seriesCount() const
{
    int shown = 0;
    for (QAbstractSeries* series : chart()->series()) shown += series->isVisible() ? 1 : 0;
    return shown;
}

void SteeringCurveChart::clearSlider()
{
    for (QLineSeries* series : { m_mean, m_upper, m_lower }) series->clear();
    m_clips->clear();
    for (QAbstractSeries* series : chart()->series()) series->setVisible(false);
    m_x->setVisible(false);
    m_y->setVisible(false);
    chart()->setTitle(QString());
}

void SteeringCurveChart::showSlider(const SteeringReport& report, const SteeringSliderReport& slider)
{
    clearSlider();
    const QString name = metricName(m_metrics, slider.metric);
    const int column = columnOf(report.columns, slider.metric);
    if (!slider.measurable || column < 0) {
        chart()->setTitle(tr("%1 is not measurable from audio: see its row of the interference matrix").arg(name));
        return;
    }
    chart()->setTitle(tr("%1: the measured %2 against the slider value").arg(name, name.toLower()));
    double minY = INFINITY, maxY = -INFINITY;
    const auto extend = [&](double y) {
        minY = std::min(minY, y);
        maxY = std::max(maxY, y);
    };
    for (const SteeringCurvePoint& point : slider.curve) {
        m_mean->append(point.value, point.mean);
        m_upper->append(point.value, point.high.value_or(point.mean));
        m_lower->append(point.value, point.low.value_or(point.mean));
        extend(point.low.value_or(point.mean));
        extend(point.high.value_or(point.mean));
    }
    // Every clip at its slider value, spread a little sideways so that equal values stay visible.
    const double spread = 0.012 * std::max(slider.highValue - slider.lowValue, 1.0);
    std::map<double, int> atValue;
    for (const SteeringClip& clip : report.clips) {
        if (clip.slider != slider.metric || static_cast<size_t>(column) >= clip.measured.size()) continue;
        const double y = clip.measured[static_cast<size_t>(column)];
        if (!std::isfinite(y)) continue;
        const int index = atValue[clip.value]++;
        m_clips->append(clip.value + spread * ((index % 7) - 3), y);
        extend(y);
    }
    m_clips->setName(tr("clips (%1)").arg(m_clips->count()));
    for (QAbstractSeries* series : chart()->series()) series->setVisible(true);
    m_y->setTitleText(slider.metric == "tempo" ? tr("%1 (BPM)").arg(name) : name);
    if (std::isfinite(minY)) fitAxes(slider.lowValue, slider.highValue, minY, maxY);
}

void SteeringCurveChart::fitAxes(double minX, double maxX, double minY, double maxY)
{
    const double spanX = std::max(maxX - minX, 0.5);
    const double padY = maxY > minY ? 0.08 * (maxY - minY) : std::max(std::abs(maxY) * 0.1, 0.05);
    m_x->setRange(minX - 0.08 * spanX, maxX + 0.08 * spanX);
    m_x->setTickType(QValueAxis::TicksDynamic); // ticks at the grid's ends and quarters: -1, -0.5, 0, 0.5, 1
    m_x->setTickAnchor(minX);
    m_x->setTickInterval(spanX / 4.0);
    m_x->setLabelFormat("%.3g");
    m_y->setRange(minY - padY, maxY + padY);
    m_y->applyNiceNumbers();
    m_x->setVisible(true);
    m_y->setVisible(true);
}

// ---- InterferenceTable ----

InterferenceTable::InterferenceTable(std::vector<MetricInfo> metrics, QWidget* parent)
    : QTableWidget(parent)
    , m_metrics(std::move(metrics))
{
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSelectionMode(QAbstractItemView::NoSelection);
    setToolTip(tr("Each row is a slider moved from its lowest to its highest value, each column a measured metric, "
                  "each cell the standardised effect d (red up, blue down; bold: the slider's own metric)."));
}

QColor InterferenceTable::effectColor(std::optional<double> effect, const QColor& neutral)
{
    if (!effect) return QColor(176, 176, 176);
    const QColor full = *effect >= 0 ? QColor(214, 39, 40) : QColor(31, 119, 180);
    return blend(neutral, full, std::abs(*effect) / kFullColourEffect);
}

void InterferenceTable::setReport(const SteeringReport& report)
{
    clear();
    setRowCount(static_cast<int>(report.sliders.size()));
    setColumnCount(static_cast<int>(report.columns.size()));
    QStringList columns, rows;
    for (const std::string& column : report.columns) columns << metricName(m_metrics, column);
    for (const SteeringSliderReport& slider : report.sliders) rows << metricName(m_metrics, slider.metric);
    setHorizontalHeaderLabels(columns);
    setVerticalHeaderLabels(rows);
    const QColor neutral = palette().base().color();
    for (int r = 0; r < rowCount(); ++r) {
        const SteeringSliderReport& slider = report.sliders[static_cast<size_t>(r)];
        for (int c = 0; c < columnCount() && c < static_cast<int>(slider.effects.size()); ++c) {
            const std::optional<double> effect = slider.effects[static_cast<size_t>(c)];
            const bool onTarget = report.columns[static_cast<size_t>(c)] == slider.metric;
            QTableWidgetItem* cell = cellItem(effect ? QString::asprintf("%+.2f", *effect) : tr("–"),
                tr("%1 from %2 to %3: %4 on %5%6")
                    .arg(rows[r], signedNumber(slider.lowValue), signedNumber(slider.highValue),
                        effect ? "d = " + signedNumber(*effect) : tr("undefined"), columns[c],
                        onTarget ? tr(" (its own metric)") : QString()));
            const QColor background = effectColor(effect, neutral);
            cell->setBackground(background);
            cell->setForeground(readableText(background));
            cell->setTextAlignment(Qt::AlignCenter);
            if (onTarget) {
                QFont bold = font();
                bold.setBold(true);
                cell->setFont(bold);
            }
            setItem(r, c, cell);
        }
    }
    resizeColumnsToContents();
}

} // namespace tmk::ui
