// The pieces of the steering report view (steering_report_view.h), each showing one part of a report
// (tastemaker/steering_report.h):
//   SteeringSliderTable  one row per slider: its on-target figures and which of the targets they meet
//   SteeringCurveChart   one slider's metric against the slider value: the mean per value over its 95% band, and
//                        every clip as a dot
//   InterferenceTable    the interference matrix as a heatmap: rows the slider moved, columns the measured metric
#pragma once

#include <vector>

#include <QChartView>
#include <QString>
#include <QTableWidget>

#include "tastemaker/metrics.h"
#include "tastemaker/steering_report.h"

class QAreaSeries;
class QLineSeries;
class QScatterSeries;
class QValueAxis;

namespace tmk::ui {

// "Energy" for "energy" (metrics.json's name), else the id itself.
QString metricName(const std::vector<tmk::MetricInfo>& metrics, const std::string& id);

class SteeringSliderTable : public QTableWidget {
    Q_OBJECT

public:
    enum Column {
        SliderColumn,
        ClipsColumn,
        DifferenceColumn,
        EffectColumn,
        SpearmanColumn,
        SpearmanOfMeansColumn,
        InterferenceColumn,
        TargetsColumn,
        ColumnCount
    };

    explicit SteeringSliderTable(std::vector<tmk::MetricInfo> metrics, QWidget* parent = nullptr);
    void setReport(const tmk::SteeringReport& report);
    // The metric id of `row` (Qt::UserRole of its first cell), or "".
    QString metricAt(int row) const;
    int rowOf(const QString& metric) const; // -1 when absent

private:
    void setRow(int row, const tmk::SteeringSliderReport& slider);

    std::vector<tmk::MetricInfo> m_metrics;
};

class SteeringCurveChart : public QChartView {
    Q_OBJECT

public:
    explicit SteeringCurveChart(std::vector<tmk::MetricInfo> metrics, QWidget* parent = nullptr);
    // Shows `slider` of `report` (its curve, and its clips from report.clips); a latent slider shows a note instead.
    void showSlider(const tmk::SteeringReport& report, const tmk::SteeringSliderReport& slider);
    void clearSlider();

    QLineSeries* meanSeries() const { return m_mean; }
    QAreaSeries* bandSeries() const { return m_band; }
    QScatterSeries* clipSeries() const { return m_clips; }
    int seriesCount() const; // series shown (0 for a latent slider)

private:
    void fitAxes(double minX, double maxX, double minY, double maxY);

    std::vector<tmk::MetricInfo> m_metrics;
    QLineSeries* m_mean = nullptr;
    QLineSeries* m_upper = nullptr;
    QLineSeries* m_lower = nullptr;
    QAreaSeries* m_band = nullptr;
    QScatterSeries* m_clips = nullptr;
    QValueAxis* m_x = nullptr;
    QValueAxis* m_y = nullptr;
};

class InterferenceTable : public QTableWidget {
    Q_OBJECT

public:
    explicit InterferenceTable(std::vector<tmk::MetricInfo> metrics, QWidget* parent = nullptr);
    void setReport(const tmk::SteeringReport& report);
    // The cell's colour: red for a positive effect, blue for a negative one, full at |d| >= 2 (as interference.png);
    // `neutral` where there is no effect (undefined cells are grey).
    static QColor effectColor(std::optional<double> effect, const QColor& neutral);

private:
    std::vector<tmk::MetricInfo> m_metrics;
};

} // namespace tmk::ui
