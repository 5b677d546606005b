// A clip's waveform: a min/max peak summary (computed once in setAudio, extended by appendAudio while a
// generation streams), a playhead line, and click/drag to seek. Without audio it shows "No clip selected".
#pragma once

#include <span>
#include <vector>

#include <QString>
#include <QWidget>

namespace tmk::ui {

class WaveformView : public QWidget {
    Q_OBJECT

public:
    static constexpr int kSamplesPerPeak = 128; // the summary's resolution

    explicit WaveformView(QWidget* parent = nullptr);
    ~WaveformView() override;

    // Mono samples at `sampleRate`; replaces the current audio and moves the playhead to 0.
    void setAudio(std::vector<float> samples, int sampleRate);
    // Adds samples at the end (a streaming generation); the first call after clear() needs setAudio({}, rate).
    void appendAudio(std::span<const float> samples);
    // Optional: the length the view is scaled to while audio streams in (0: the audio's own length).
    void setExpectedDuration(double seconds);
    void clear();

    bool hasAudio() const { return m_sampleCount > 0; }
    int sampleRate() const { return m_sampleRate; }
    double durationSeconds() const; // the audio's length
    double displayedSeconds() const; // the time span of the view's width

    void setPlayhead(double seconds);
    double playhead() const { return m_playheadSeconds; }

    // Geometry (also used by the tests).
    QRectF waveRect() const;
    double secondsAtX(double x) const; // clamped to [0, durationSeconds()]
    double xForSeconds(double seconds) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void seekRequested(double seconds);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void addPeaks(std::span<const float> samples);
    void paintWave(QPainter& painter, const QRectF& area) const;
    void paintTimeLabels(QPainter& painter, const QRectF& area) const;

    int m_sampleRate = 0;
    long long m_sampleCount = 0;
    std::vector<float> m_peakMin; // one per kSamplesPerPeak samples
    std::vector<float> m_peakMax;
    int m_partialCount = 0; // samples in the last, still open, peak
    double m_expectedSeconds = 0.0;
    double m_playheadSeconds = 0.0;
    QString m_emptyText;
};

} // namespace tmk::ui
