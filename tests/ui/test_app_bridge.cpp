// EngineBridge on its own: jobs run in order on the worker thread, cancel reaches posted jobs, slider
// merges are coalesced to the newest values, generation saves a clip (no audio device needed) and streams
// its audio, and failures carry the engine's exact message.
#include <atomic>
#include <mutex>

#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include "app_test_support.h"
#include "engine_bridge.h"
#include "qtest_registry.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/runtime.h"

using tmk::ui::EngineBridge;

class TestAppBridge : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        tmk::test::isolateSettings("TastemakerTest-bridge");
        tmk::initRuntime();
    }

    void postRunsJobsInOrderOnTheWorker()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("bridge-post")));
        QSignalSpy busy(&bridge, &EngineBridge::busyChanged);
        std::mutex mutex;
        std::vector<int> order;
        std::vector<Qt::HANDLE> threads;
        for (int i = 0; i < 3; ++i) {
            bridge.post([&, i]() {
                std::lock_guard lock(mutex);
                order.push_back(i);
                threads.push_back(QThread::currentThreadId());
            });
        }
        QVERIFY(bridge.busy());
        QVERIFY(tmk::test::waitIdle(bridge));
        QCOMPARE(order, (std::vector<int> { 0, 1, 2 }));
        for (Qt::HANDLE thread : threads) QVERIFY(thread != QThread::currentThreadId());
        QCOMPARE(busy.count(), 2);
        QCOMPARE(busy.at(0).at(0).toBool(), true);
        QCOMPARE(busy.at(1).at(0).toBool(), false);
    }

    void cancelReachesPostedJobs()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("bridge-cancel")));
        auto token = std::make_shared<tmk::CancelToken>();
        std::atomic<bool> started { false }, sawCancel { false };
        bridge.post(
            [&]() {
                started = true;
                for (int i = 0; i < 1000 && !token->isCancelled(); ++i) QThread::msleep(10);
                sawCancel = token->isCancelled();
            },
            token);
        QTRY_VERIFY(started.load());
        bridge.cancel();
        QVERIFY(tmk::test::waitIdle(bridge, 5000));
        QVERIFY(sawCancel.load());
    }

    void slidersAreCoalescedToTheNewest()
    {
        EngineBridge bridge(tmk::test::bridgeOptions(tmk::test::freshOutDir("bridge-sliders")));
        bridge.loadModel(tmk::test::fixtureModelDir(), {});
        bridge.loadBank(tmk::test::fixtureBankDir());
        QVERIFY(tmk::test::waitForModel(bridge));
        QVERIFY(bridge.bank() != nullptr);
        QCOMPARE(bridge.bank()->adapterCount(), 26);

        // Hold the worker while the "user" drags: 40 moves must become one merge of the last values.
        std::atomic<bool> release { false };
        bridge.post([&]() {
            while (!release) QThread::msleep(2);
        });
        QSignalSpy merged(&bridge, &EngineBridge::slidersMerged);
        tmk::SliderValues values;
        for (int i = 1; i <= 40; ++i) {
            values = { { "energy", i / 40.0 }, { "tempo", -i / 80.0 } };
            bridge.setSliders(values);
        }
        release = true;
        QVERIFY(tmk::test::waitIdle(bridge));
        QTRY_COMPARE(merged.count(), 1);
        QTest::qWait(100);
        QCOMPARE(merged.count(), 1);
        QCOMPARE(bridge.mergedSliders().at("energy"), 1.0);
        QCOMPARE(bridge.mergedSliders().at("tempo"), -0.5);
        QVERIFY(merged.at(0).at(0).toDouble() >= 0.0);

        // The same values again: nothing to merge.
        bridge.setSliders(values);
        QVERIFY(tmk::test::waitIdle(bridge));
        QTest::qWait(100);
        QCOMPARE(merged.count(), 1);
    }

    void generateSavesAClipWithoutAudioAndStreamsIt()
    {
        const QString library = tmk::test::freshOutDir("bridge-generate");
        EngineBridge bridge(tmk::test::bridgeOptions(library, false));
        QVERIFY(!bridge.hasAudioOutput());
        QVERIFY(!bridge.audioOutputError().isEmpty());
        bridge.loadModel(tmk::test::defaultModelDir(), {});
        QVERIFY(tmk::test::waitForModel(bridge));
        const tmk::ModelInfo info = *bridge.modelInfo();

        tmk::GenerationRequest request = tmk::GenerationRequest::defaultsFor(info);
        request.prompts = { "a bridge test" };
        request.frames = info.frameRate; // 1 s
        request.sampling.seed = 77;
        QSignalSpy finished(&bridge, &EngineBridge::generationFinished);
        QSignalSpy progress(&bridge, &EngineBridge::generationProgress);
        size_t streamed = 0;
        connect(&bridge, &EngineBridge::generationAudio, this, [&](const std::vector<float>& samples, int rate) {
            QCOMPARE(rate, info.sampleRate);
            streamed += samples.size();
        });
        bridge.generate(request, {});
        QVERIFY(bridge.generating());
        QVERIFY(finished.wait(20000));
        QVERIFY(!bridge.generating());
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        const QString id = finished.at(0).at(1).toString();
        QVERIFY(!id.isEmpty());
        QVERIFY(progress.count() >= 1);
        const QList<QVariant> last = progress.last();
        QCOMPARE(last.at(0).toLongLong(), last.at(1).toLongLong()); // the last step is always reported
        QVERIFY(last.at(3).toDouble() > 0.0); // real-time factor

        auto clips = bridge.listClips();
        QVERIFY(clips);
        QCOMPARE(clips->size(), size_t(1));
        const tmk::ClipEntry& clip = clips->front();
        QCOMPARE(QString::fromStdString(clip.id), id);
        QCOMPARE(clip.record.prompt, std::string("a bridge test"));
        QCOMPARE(clip.record.sampling.seed, uint64_t(77));
        QCOMPARE(clip.record.samples, info.frameRate * info.hopLength);
        QCOMPARE(static_cast<int64_t>(streamed), clip.record.samples); // the waveform saw every sample
        auto audio = bridge.clipAudio(id);
        QVERIFY(audio);
        QCOMPARE(static_cast<int64_t>(audio->size()), clip.record.samples);
    }

    void failuresCarryTheEnginesMessage()
    {
        const QString out = tmk::test::freshOutDir("bridge-failures");
        EngineBridge bridge(tmk::test::bridgeOptions(out + "/library"));
        QSignalSpy failed(&bridge, &EngineBridge::jobFailed);
        const QString empty = out + "/empty-model";
        QDir().mkpath(empty);
        bridge.loadModel(empty, {});
        QVERIFY(tmk::test::waitIdle(bridge));
        QCOMPARE(failed.count(), 1);
        auto expected = tmk::MusicgenModel::load(empty.toStdString(), {});
        QVERIFY(!expected);
        QCOMPARE(failed.at(0).at(1).toString(), QString::fromStdString(expected.error().message));
        QVERIFY(!bridge.hasModel());

        // A bad bank keeps the good one.
        bridge.loadModel(tmk::test::fixtureModelDir(), {});
        bridge.loadBank(tmk::test::fixtureBankDir());
        QVERIFY(tmk::test::waitForModel(bridge));
        QVERIFY(bridge.bank() != nullptr);
        const QString emptyBank = out + "/empty-bank";
        QDir().mkpath(emptyBank);
        bridge.loadBank(emptyBank);
        QVERIFY(tmk::test::waitIdle(bridge));
        QCOMPARE(failed.count(), 2);
        QVERIFY(failed.at(1).at(1).toString().contains("bank.json"));
        QVERIFY(bridge.bank() != nullptr);
        QCOMPARE(bridge.bankDir(), tmk::test::fixtureBankDir());
    }
};

TM_QTEST(TestAppBridge);
#include "test_app_bridge.moc"
